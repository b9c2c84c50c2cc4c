//! The `+CME ERROR` texts SIMCom modules print with AT+CMEE=2. The numbers are the SIMCom
//! manuals' table (identical for SIM800, SIM7000 and SIM7080); the spelling is the lower-case
//! one real SIM7000/SIM7080 modules print (their Qualcomm AT processor's table), e.g.
//! `+CME ERROR: operation not allowed`.

/// The verbose text for `code`, if the table has it.
pub fn text(code: u16) -> Option<&'static str> {
    crate::dialect::lookup(TABLE, code)
}

const TABLE: &[(u16, &str)] = &[
    (0, "phone failure"),
    (1, "no connection to phone"),
    (2, "phone-adaptor link reserved"),
    (3, "operation not allowed"),
    (4, "operation not supported"),
    (5, "PH-SIM PIN required"),
    (6, "PH-FSIM PIN required"),
    (7, "PH-FSIM PUK required"),
    (10, "SIM not inserted"),
    (11, "SIM PIN required"),
    (12, "SIM PUK required"),
    (13, "SIM failure"),
    (14, "SIM busy"),
    (15, "SIM wrong"),
    (16, "incorrect password"),
    (17, "SIM PIN2 required"),
    (18, "SIM PUK2 required"),
    (20, "memory full"),
    (21, "invalid index"),
    (22, "not found"),
    (23, "memory failure"),
    (24, "text string too long"),
    (25, "invalid characters in text string"),
    (26, "dial string too long"),
    (27, "invalid characters in dial string"),
    (30, "no network service"),
    (31, "network timeout"),
    (32, "network not allowed - emergency calls only"),
    (40, "network personalization PIN required"),
    (41, "network personalization PUK required"),
    (42, "network subset personalization PIN required"),
    (43, "network subset personalization PUK required"),
    (44, "service provider personalization PIN required"),
    (45, "service provider personalization PUK required"),
    (46, "corporate personalization PIN required"),
    (47, "corporate personalization PUK required"),
    (99, "resource limitation"),
    (100, "unknown"),
    (103, "Illegal MS"),
    (106, "Illegal ME"),
    (107, "GPRS services not allowed"),
    (111, "PLMN not allowed"),
    (112, "Location area not allowed"),
    (113, "Roaming not allowed in this location area"),
    (132, "service option not supported"),
    (133, "requested service option not subscribed"),
    (134, "service option temporarily out of order"),
    (148, "unspecified GPRS error"),
    (149, "PDP authentication failure"),
    (150, "invalid mobile class"),
    (160, "DNS resolve failed"),
    (161, "socket open failed"),
    (180, "GPRS is not attached"),
    (181, "TCP/IP stack is busy"),
    (600, "no error"),
    (601, "unrecognized command"),
    (602, "return value error"),
    (603, "syntax error"),
    (604, "unspecified error"),
    (605, "data transfer already"),
    (606, "action already"),
    (607, "not AT cmd"),
    (608, "multi cmd too long"),
    (609, "abort COPS"),
    (610, "no call disc"),
    (614, "AT not allowed by customer"),
    (753, "missing required cmd parameter"),
    (754, "invalid SIM command"),
    (755, "invalid file id"),
    (756, "missing P1/2/3"),
    (757, "invalid P1/2/3"),
    (758, "missing command data"),
    (759, "invalid characters in command data"),
    (765, "invalid input value"),
    (766, "unsupported mode"),
    (767, "operation failed"),
    (768, "mux already running"),
    (769, "unable to get control"),
    (770, "SIM network reject"),
    (771, "call setup in progress"),
    (772, "SIM powered down"),
    (773, "SIM file not present"),
    (791, "param count not enough"),
    (792, "param count beyond"),
    (793, "param value range beyond"),
    (794, "param type not match"),
    (795, "param format invalid"),
    (796, "get a null param"),
    (797, "CFUN state is 0 or 4"),
];

#[cfg(test)]
mod tests {
    #[test]
    fn table_is_sorted_and_looked_up() {
        assert!(super::TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(super::text(3), Some("operation not allowed"));
        assert_eq!(super::text(9), None);
    }
}
