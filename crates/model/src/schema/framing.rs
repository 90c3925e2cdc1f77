//! Confluent's wire format: magic byte 0, a 4-byte big-endian schema id, then (for
//! Protobuf) the message-index list — zig-zag varints, a count then the indexes, a single
//! 0 byte meaning `[0]` — then the payload.

/// Splits a framed payload into its schema id and the rest; `None` when not framed.
pub fn split(bytes: &[u8]) -> Option<(u32, &[u8])> {
    match bytes {
        [0, a, b, c, d, rest @ ..] => Some((u32::from_be_bytes([*a, *b, *c, *d]), rest)),
        _ => None,
    }
}

/// Reads the Protobuf message-index list at the start of `bytes`.
pub fn message_indexes(bytes: &[u8]) -> Result<(Vec<i32>, &[u8]), String> {
    let mut rest = bytes;
    let count = varint(&mut rest)?;
    if count == 0 {
        return Ok((vec![0], rest));
    }
    if count < 0 || count as usize > rest.len() {
        return Err(format!(
            "a message-index list of {count} entries does not fit the payload"
        ));
    }
    let indexes = (0..count)
        .map(|_| varint(&mut rest))
        .collect::<Result<_, _>>()?;
    Ok((indexes, rest))
}

/// A framed payload: magic byte, id, the message indexes (Protobuf) and the body.
pub fn frame(id: u32, indexes: Option<&[i32]>, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend(id.to_be_bytes());
    match indexes {
        None => {}
        Some([0]) => out.push(0),
        Some(list) => {
            put_varint(&mut out, list.len() as i64);
            for &i in list {
                put_varint(&mut out, i as i64);
            }
        }
    }
    out.extend(body);
    out
}

/// One zig-zag varint.
fn varint(bytes: &mut &[u8]) -> Result<i32, String> {
    let mut raw: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes
            .split_first()
            .ok_or("the message-index list ends early")?;
        *bytes = rest;
        raw |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            let n = ((raw >> 1) as i64) ^ -((raw & 1) as i64);
            return i32::try_from(n).map_err(|_| format!("message index {n} is out of range"));
        }
    }
    Err("a message index is not a varint".into())
}

fn put_varint(out: &mut Vec<u8>, n: i64) {
    let mut raw = ((n << 1) ^ (n >> 63)) as u64;
    while raw >= 0x80 {
        out.push((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_and_round_trip() {
        assert_eq!(split(&[0, 0, 0, 1, 2, 9]), Some((258, &[9][..])));
        assert_eq!(split(&[0, 0, 0, 1]), None);
        assert_eq!(split(b"{\"a\":1}"), None);
        assert_eq!(message_indexes(&[0, 7]).unwrap(), (vec![0], &[7][..]));
        // Confluent's [1]: count 1 (zig-zag 2), index 1 (zig-zag 2).
        assert_eq!(message_indexes(&[2, 2, 7]).unwrap(), (vec![1], &[7][..]));
        assert_eq!(message_indexes(&[4, 2, 4]).unwrap(), (vec![1, 2], &[][..]));
        assert!(message_indexes(&[]).is_err());
        assert!(message_indexes(&[0x7f]).is_err());
        for list in [vec![0], vec![1], vec![3, 0, 70], vec![200]] {
            let framed = frame(42, Some(&list), b"body");
            let (id, rest) = split(&framed).unwrap();
            assert_eq!(id, 42);
            assert_eq!(message_indexes(rest).unwrap(), (list.clone(), &b"body"[..]));
        }
        assert_eq!(frame(1, None, b"x"), vec![0, 0, 0, 0, 1, b'x']);
        assert_eq!(frame(1, Some(&[0]), b"x"), vec![0, 0, 0, 0, 1, 0, b'x']);
    }
}
