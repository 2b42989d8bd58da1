//! The marshal decoder (stub; being written).
