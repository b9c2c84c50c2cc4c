//! vmodem: a software cellular modem.
