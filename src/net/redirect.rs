//! `HOST[:PORT]=ADDR:PORT` redirects: connections to a host (and optionally one port of it)
//! go to another address instead, so transcripts can keep the vendor document's server
//! address while the test runs against a local server.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// One redirect rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    host: String,
    port: Option<u16>,
    to: SocketAddr,
}

impl Redirect {
    /// A rule sending `host` (any port when `port` is `None`) to `to`.
    pub fn new(host: impl Into<String>, port: Option<u16>, to: SocketAddr) -> Self {
        Redirect { host: host.into(), port, to }
    }

    /// Where a connection to `host:port` goes, if this rule matches it. A rule without a
    /// port keeps the requested port.
    pub fn apply(&self, host: &str, port: u16) -> Option<SocketAddr> {
        if !self.host.eq_ignore_ascii_case(host) {
            return None;
        }
        match self.port {
            Some(p) if p != port => None,
            Some(_) => Some(self.to),
            None => Some(SocketAddr::new(self.to.ip(), port)),
        }
    }
}

impl FromStr for Redirect {
    type Err = String;

    /// Parses `HOST[:PORT]=ADDR:PORT`, e.g. `112.74.93.163:21=127.0.0.1:2121`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (from, to) = s.split_once('=').ok_or_else(|| format!("redirect {s:?} needs HOST[:PORT]=ADDR:PORT"))?;
        let to: SocketAddr = to.parse().map_err(|e| format!("redirect target {to:?}: {e}"))?;
        let (host, port) = match from.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => {
                (h, Some(p.parse::<u16>().map_err(|e| format!("redirect port {p:?}: {e}"))?))
            }
            _ => (from, None),
        };
        if host.is_empty() {
            return Err(format!("redirect {s:?} has no host"));
        }
        Ok(Redirect::new(host, port, to))
    }
}

impl fmt::Display for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{}={}", self.host, p, self.to),
            None => write!(f, "{}={}", self.host, self.to),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_apply() {
        let r: Redirect = "112.74.93.163:21=127.0.0.1:2121".parse().unwrap();
        assert_eq!(r.apply("112.74.93.163", 21), Some("127.0.0.1:2121".parse().unwrap()));
        assert_eq!(r.apply("112.74.93.163", 990), None);
        let any: Redirect = "Demo.Example=127.0.0.1:1".parse().unwrap();
        assert_eq!(any.apply("demo.example", 990), Some("127.0.0.1:990".parse().unwrap()));
        assert!("nohost".parse::<Redirect>().is_err());
        assert!("h:x=127.0.0.1:1".parse::<Redirect>().is_err());
        assert_eq!(r.to_string(), "112.74.93.163:21=127.0.0.1:2121");
    }
}
