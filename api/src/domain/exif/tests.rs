//! The reader never panics on damaged blocks and reads both byte orders.

use super::*;

/// IFD0 with Orientation and a GPS pointer; the GPS IFD has no next-IFD field.
fn block(little: bool) -> Vec<u8> {
    let w16 = |v: u16| if little { v.to_le_bytes() } else { v.to_be_bytes() };
    let w32 = |v: u32| if little { v.to_le_bytes() } else { v.to_be_bytes() };
    let mut b = Vec::new();
    b.extend_from_slice(if little { b"II" } else { b"MM" });
    b.extend_from_slice(&w16(42));
    b.extend_from_slice(&w32(8));
    // IFD0 at 8: two entries, then next-IFD 0.
    b.extend_from_slice(&w16(2));
    b.extend_from_slice(&w16(0x0112));
    b.extend_from_slice(&w16(3));
    b.extend_from_slice(&w32(1));
    b.extend_from_slice(&w16(6));
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&w16(0x8825));
    b.extend_from_slice(&w16(4));
    b.extend_from_slice(&w32(1));
    b.extend_from_slice(&w32(38)); // GPS IFD right after IFD0 (8 + 2 + 24 + 4)
    b.extend_from_slice(&w32(0));
    // GPS IFD at 38: latitude ref + latitude, no next-IFD field.
    b.extend_from_slice(&w16(2));
    b.extend_from_slice(&w16(1));
    b.extend_from_slice(&w16(2));
    b.extend_from_slice(&w32(2));
    b.extend_from_slice(b"N\0\0\0");
    b.extend_from_slice(&w16(2));
    b.extend_from_slice(&w16(5));
    b.extend_from_slice(&w32(3));
    b.extend_from_slice(&w32(64)); // rationals right after the entries (38 + 2 + 24)
    for (n, d) in [(38u32, 1u32), (30, 1), (0, 1)] {
        b.extend_from_slice(&w32(n));
        b.extend_from_slice(&w32(d));
    }
    b
}

#[test]
fn reads_both_byte_orders_without_next_ifd_fields() {
    for little in [true, false] {
        let t = read(&block(little));
        assert_eq!(t.orientation, Some(6));
        assert_eq!(t.gps_latitude_ref.as_deref(), Some("N"));
        assert_eq!(t.gps_latitude, Some(38.5));
    }
}

#[test]
fn damaged_blocks_give_what_they_can_and_never_panic() {
    let good = block(true);
    for cut in 0..good.len() {
        let _ = read(&good[..cut]);
    }
    let mut x = 0x2545F491u32;
    for _ in 0..2000 {
        let mut b = good.clone();
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let i = x as usize % b.len();
            b[i] = (x >> 8) as u8;
        }
        let _ = read(&b);
    }
    assert_eq!(read(b"\xFF\xD8\xFF\xE1\x00\x02"), Tags::default());
}
