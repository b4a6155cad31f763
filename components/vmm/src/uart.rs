//! The guest's PL011 UART, reduced to what the guests use: byte writes to the data register
//! (`UARTDR`, offset 0), collected into lines.
//!
//! Each byte arrives as one GUEST_MEM write exit. Bytes accumulate until a newline (which is
//! not stored) or until [`LINE_MAX`] bytes; then the line is complete. Carriage returns are
//! dropped and bytes that are not printable ASCII are kept as `?`, so a line is always valid
//! UTF-8 and safe to print on a console.

use heapless::String;

/// Longest line kept; a longer one is split.
pub const LINE_MAX: usize = 120;

/// Collects UART bytes into lines.
#[derive(Debug, Default)]
pub struct LineUart {
    line: String<LINE_MAX>,
    /// `line` was returned as complete: clear it before the next byte.
    done: bool,
    lines: u32,
}

impl LineUart {
    /// An empty UART.
    pub const fn new() -> Self {
        LineUart {
            line: String::new(),
            done: false,
            lines: 0,
        }
    }

    /// Takes one written byte; returns the line it completes, if any (valid until the next
    /// call).
    pub fn write(&mut self, byte: u8) -> Option<&str> {
        if self.done {
            self.line.clear();
            self.done = false;
        }
        match byte {
            b'\n' => Some(self.complete()),
            b'\r' => None,
            _ => {
                let c = if byte.is_ascii_graphic() || byte == b' ' {
                    char::from(byte)
                } else {
                    '?'
                };
                // Cannot fail: a line is completed as soon as it is full.
                let _ = self.line.push(c);
                (self.line.len() == LINE_MAX).then(|| self.complete())
            }
        }
    }

    /// The bytes of the line in progress.
    pub fn pending(&self) -> &str {
        if self.done { "" } else { &self.line }
    }

    /// Number of lines completed so far.
    pub fn lines(&self) -> u32 {
        self.lines
    }

    fn complete(&mut self) -> &str {
        self.done = true;
        self.lines += 1;
        &self.line
    }
}

#[cfg(test)]
mod tests {
    use std::string::{String, ToString};
    use std::vec::Vec;

    use super::{LINE_MAX, LineUart};

    fn feed(u: &mut LineUart, bytes: &[u8]) -> Vec<String> {
        bytes
            .iter()
            .filter_map(|&b| u.write(b).map(ToString::to_string))
            .collect()
    }

    #[test]
    fn lines_end_at_newlines() {
        let mut u = LineUart::new();
        assert_eq!(
            feed(&mut u, b"Hello from guest 0!\nsecond\r\nthi"),
            ["Hello from guest 0!", "second"]
        );
        assert_eq!(u.pending(), "thi");
        assert_eq!(u.lines(), 2);
        assert_eq!(feed(&mut u, b"rd\n\n"), ["third", ""]);
        assert_eq!(u.pending(), "");
    }

    #[test]
    fn unprintable_bytes_become_question_marks() {
        let mut u = LineUart::new();
        assert_eq!(feed(&mut u, b"a\x1b[2Jb\xffc\n"), ["a?[2Jb?c"]);
    }

    #[test]
    fn long_lines_are_split() {
        let mut u = LineUart::new();
        let long = [b'x'; LINE_MAX + 5];
        let lines = feed(&mut u, &long);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), LINE_MAX);
        assert_eq!(u.pending(), "xxxxx");
    }
}
