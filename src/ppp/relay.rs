//! The host's IP traffic, terminated and relayed through `Net` (being written).
