//! Short messages the host sends: each goes to the SMS centre ([`crate::sms::centre`]) on the
//! network ([`crate::net::Net::sms_centre`]), stamped with the centre's time.

pub mod job;
