//! URLs as hosts type them into `AT+HTTPPARA="URL"`, and as servers send them back in
//! `Location`: parsed into where to connect and what to ask for.

use std::fmt::Write as _;
use std::net::Ipv6Addr;

use super::HttpError;

/// Where a request goes and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// `https://` rather than `http://` (or no scheme).
    pub(super) https: bool,
    /// The host name or IP address, IPv6 without brackets.
    pub(super) host: String,
    /// The port, explicit or the scheme's default.
    pub(super) port: u16,
    /// The request target in origin form: `/`, a path and a query, percent-encoded where the
    /// host typed bytes a URL cannot carry; never a fragment.
    pub(super) path: String,
}

impl Target {
    /// Parses a URL as the host typed it: surrounding blanks ignored, `http://`, `https://`
    /// or no scheme (plain HTTP), a host, an optional port, an optional path.
    pub(super) fn parse(url: &str) -> Result<Target, HttpError> {
        let url = url.trim();
        let (https, rest) = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
            Some((scheme, _)) if is_scheme(scheme) => return Err(invalid(format!("unsupported scheme {scheme:?}"))),
            _ => (false, url),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let (host, port) = split_authority(authority)?;
        let port = port.unwrap_or(if https { 443 } else { 80 });
        Ok(Target { https, host, port, path: origin_form(path) })
    }

    /// The `Host` header: the host, with the port unless it is the scheme's default.
    pub(super) fn host_header(&self) -> String {
        let default = if self.https { 443 } else { 80 };
        match self.port == default {
            true => self.bracketed_host(),
            false => self.authority(),
        }
    }

    /// `host:port`, as `CONNECT` names a tunnel's end.
    pub(super) fn authority(&self) -> String {
        format!("{}:{}", self.bracketed_host(), self.port)
    }

    /// The absolute form a plain-HTTP proxy is asked for.
    pub(super) fn absolute(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{}", self.host_header(), self.path)
    }

    /// Where a `Location` header sends a request for this target: an absolute URL (`http` or
    /// `https`), a scheme-relative `//host/path`, an absolute path, a query, or a path
    /// relative to this one's folder.
    pub(super) fn join(&self, location: &str) -> Result<Target, HttpError> {
        let location = location.trim();
        if let Some((scheme, _)) = location.split_once("://")
            && is_scheme(scheme)
        {
            return Target::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Target::parse(&format!("{}://{rest}", if self.https { "https" } else { "http" }));
        }
        let path = if location.starts_with('/') {
            origin_form(location)
        } else if location.starts_with('?') {
            let path = self.path.split('?').next().unwrap_or("/");
            origin_form(&format!("{path}{location}"))
        } else {
            let path = self.path.split('?').next().unwrap_or("/");
            let folder = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            origin_form(&format!("{folder}{location}"))
        };
        Ok(Target { path, ..self.clone() })
    }

    /// Whether `other` has this one's scheme, host (in any case) and port.
    pub(super) fn same_origin(&self, other: &Target) -> bool {
        self.https == other.https && self.port == other.port && self.host.eq_ignore_ascii_case(&other.host)
    }

    fn bracketed_host(&self) -> String {
        match self.host.parse::<Ipv6Addr>() {
            Ok(_) => format!("[{}]", self.host),
            Err(_) => self.host.clone(),
        }
    }
}

/// `url` for a log line or an error: user info in its authority (`user:pass@`), if any,
/// replaced by `****`.
pub(super) fn redact(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}****{}", &url[..start], &url[start + at..]),
        None => url.to_string(),
    }
}

fn invalid(what: String) -> HttpError {
    HttpError::InvalidRequest(what)
}

/// Whether `s` is a URL scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`).
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Host and optional port of `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_authority(authority: &str) -> Result<(String, Option<u16>), HttpError> {
    let bad = || invalid(format!("no usable host and port in {authority:?}"));
    if authority.contains('@') {
        return Err(invalid(format!("credentials in the URL are not supported: {}", redact(authority))));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            host.parse::<Ipv6Addr>().map_err(|_| bad())?;
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
            }
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            if host.is_empty() || host.contains(|c: char| c.is_ascii_whitespace() || c.is_ascii_control()) {
                return Err(bad());
            }
            (host, port)
        }
    };
    let port = match port.filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(bad)?),
    };
    Ok((host.to_string(), port))
}

/// The origin form of a path and query: a leading `/`, no fragment, and every byte a request
/// line cannot carry percent-encoded (what the host typed is sent, not refused).
fn origin_form(path: &str) -> String {
    let path = path.split('#').next().unwrap_or_default();
    let mut out = String::with_capacity(path.len() + 1);
    if !path.starts_with('/') {
        out.push('/');
    }
    for &b in path.as_bytes() {
        if b <= b' ' || b >= 0x7f || b"\"<>\\^`{|}".contains(&b) {
            let _ = write!(out, "%{b:02X}");
        } else {
            out.push(char::from(b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    #[test]
    fn urls_as_hosts_type_them() {
        let plain = Target { https: false, host: "www.sim.com".into(), port: 80, path: "/".into() };
        assert_eq!(t("www.sim.com"), plain);
        assert_eq!(t(" HTTP://www.sim.com/ "), plain);
        assert_eq!(
            t("https://h:8443/a/b?x=1#frag"),
            Target { https: true, host: "h".into(), port: 8443, path: "/a/b?x=1".into() }
        );
        assert_eq!(t("112.74.93.163:8080?q").path, "/?q");
        assert_eq!(t("112.74.93.163:").port, 80);
        assert_eq!(t("https://x").port, 443);
        let v6 = t("http://[::1]:8080/p");
        assert_eq!((v6.host.as_str(), v6.port, v6.authority()), ("::1", 8080, "[::1]:8080".to_string()));
        assert_eq!(t("[::1]/").host_header(), "[::1]");
        assert_eq!(t("h/a b/ü").path, "/a%20b/%C3%BC");
    }

    #[test]
    fn bad_urls_are_refused_before_anything_is_sent() {
        for bad in ["", "http://", "ftp://h/x", "h:99999", "h:0", "h:x", "u:p@h/", "[::1", "[zz]:80", "a b/"] {
            assert!(matches!(Target::parse(bad), Err(HttpError::InvalidRequest(_))), "{bad:?}");
        }
    }

    #[test]
    fn host_headers_and_proxy_forms() {
        assert_eq!(t("h:80/x").host_header(), "h");
        assert_eq!(t("h:8080/x").host_header(), "h:8080");
        assert_eq!(t("https://h:443").host_header(), "h");
        assert_eq!(t("https://h").authority(), "h:443");
        assert_eq!(t("h:8080/x?y").absolute(), "http://h:8080/x?y");
    }

    #[test]
    fn locations_resolve_against_the_request() {
        let base = t("http://h:8080/a/b?q=1");
        assert_eq!(base.join("/c").unwrap().path, "/c");
        assert_eq!(base.join("c").unwrap().path, "/a/c");
        assert_eq!(base.join("?z").unwrap().path, "/a/b?z");
        let other = base.join("https://o/p").unwrap();
        assert_eq!((other.https, other.host.as_str(), other.port, other.path.as_str()), (true, "o", 443, "/p"));
        let same_scheme = base.join("//o:81/p").unwrap();
        assert_eq!((same_scheme.https, same_scheme.port), (false, 81));
        assert!(base.join("ftp://o/p").is_err());
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        let base = t("http://Host.example:8080/a");
        assert!(base.same_origin(&t("http://host.EXAMPLE:8080/b?c")));
        for other in ["https://host.example:8080/a", "http://other.example:8080/a", "http://host.example:8081/a"] {
            assert!(!base.same_origin(&t(other)), "{other}");
        }
    }

    #[test]
    fn user_info_never_reaches_a_message() {
        assert_eq!(redact("http://user:s3cret@h:8080/p@q?x@y"), "http://****@h:8080/p@q?x@y");
        assert_eq!(redact("user:s3cret@h/p"), "****@h/p");
        assert_eq!(redact("https://a@b:s3cret@h"), "https://****@h");
        assert_eq!(redact("http://h/p@q"), "http://h/p@q");
        for url in ["http://user:s3cret@h/", "s3cret@h", "https://u:s3cret@[::1]:8443/x"] {
            let e = Target::parse(url).unwrap_err().to_string();
            assert!(!e.contains("s3cret") && e.contains("****@"), "{url}: {e}");
        }
        let e = t("http://h/").join("http://u:s3cret@o/").unwrap_err().to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
