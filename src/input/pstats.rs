//! Stats dict → Profile (stub; being written).
use bytes::Bytes;

use super::Loaded;

pub fn load(_data: Bytes) -> Result<Loaded, String> {
    Err("not implemented".into())
}
