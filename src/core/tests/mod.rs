//! Unit tests on the core with virtual time and a scripted service side ([`super::testing`]):
//! its own rules, and each dialect's state machines driven through it as a host would, with
//! AT commands, while the test plays the services.

mod clock;
mod cmux;
mod data_call;
mod l610_ftp;
mod l610_mip;
mod rules;
mod settings;
mod simcom_bearers;
mod simcom_ca;
mod simcom_cip;
mod simcom_ftp;
mod simcom_http;
mod sms;
