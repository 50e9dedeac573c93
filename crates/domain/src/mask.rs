//! Masking of personal identifiers for logs and displays where the full value is not needed.

/// Masks an identifier keeping the first four and last four characters:
/// `510102199001011234` → `5101**********1234`. Short values are fully starred.
pub fn mask_id(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let mut out = String::with_capacity(chars.len());
    out.extend(&chars[..4]);
    out.extend(std::iter::repeat_n('*', chars.len() - 8));
    out.extend(&chars[chars.len() - 4..]);
    out
}

/// Replaces every run of 15 or 18 ID-number-like characters (digits, final X) in free text by
/// its masked form. Used by request tracing so paths and queries never log a full ID number.
pub fn mask_ids_in_text(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'X' || bytes[i] == b'x') && i - start == 17 {
                i += 1;
            }
            let run = &text[start..i];
            if run.len() == 15 || run.len() == 18 {
                out.push_str(&mask_id(run));
            } else {
                out.push_str(run);
            }
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_four_and_four() {
        assert_eq!(mask_id("510102199001011234"), "5101**********1234");
        assert_eq!(mask_id("1234"), "****");
    }

    #[test]
    fn masks_ids_inside_text() {
        assert_eq!(
            mask_ids_in_text("/api/v1/persons/11010519491231002X?x=1"),
            "/api/v1/persons/1101**********002X?x=1"
        );
        assert_eq!(mask_ids_in_text("card 12345 ok"), "card 12345 ok");
        assert_eq!(
            mask_ids_in_text("号码110105194912310021。"),
            "号码1101**********0021。"
        );
    }
}
