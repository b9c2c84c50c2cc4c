//! The PPP link's control protocols, the modem's side (being written).
