//! Text from Kafka is data, never terminal instructions: control characters are shown
//! as visible symbols before anything is drawn.

/// Replaces control characters (ESC, BEL, CR, …) by their visible Unicode pictures
/// (␛, ␇, ␍) and tabs by spaces, so a payload cannot move the cursor, clear the screen
/// or set the window title. Known secret values are shown as `***`.
pub fn clean(s: &str) -> String {
    let scrubbed = crate::model::secrets::scrub(s);
    let s = scrubbed.as_ref();
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| match c {
            '\t' => ' ',
            '\u{7f}' => '␡',
            c if (c as u32) < 0x20 => char::from_u32(0x2400 + c as u32).unwrap_or('�'),
            c if c.is_control() => '�',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(clean("a\u{1b}[2Jb\u{7}\r\n\tc\u{9b}"), "a␛[2Jb␇␍␊ c�");
        assert_eq!(clean("plain ✓"), "plain ✓");
    }
}
