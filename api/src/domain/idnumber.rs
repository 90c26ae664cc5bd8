//! Resident identity numbers (GB 11643): 6-digit region, 8-digit birth date,
//! 3-digit sequence, ISO 7064 MOD 11-2 check character.

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// The check character for the first 17 digits, or None if they are not 17 digits.
pub fn check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| (b - b'0') as u32 * w).sum();
    Some(CHECK[(sum % 11) as usize] as char)
}

/// True when the number has 18 characters and a correct check character.
pub fn is_valid(id: &str) -> bool {
    id.len() == 18 && check_char(&id[..17]).is_some_and(|c| id[17..].eq_ignore_ascii_case(&c.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_numbers() {
        // From the sample spreadsheets.
        assert!(super::is_valid("131126198711084294"));
        assert!(super::is_valid("13112619360705085X"));
        assert!(!super::is_valid("131126198711084295"));
        assert!(!super::is_valid("1311261987110842"));
    }
}
