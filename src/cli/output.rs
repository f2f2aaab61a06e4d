//! How results look: `path:line  kind  name` lines, colored on a terminal as ripgrep colors
//! its own (`--color`, `NO_COLOR`), or one JSON object per line with `--json`.

use std::io::IsTerminal;

/// `--color`: when results are colored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal, `NO_COLOR` is unset or empty and `TERM` is not `dumb`.
    #[default]
    Auto,
    Always,
    Never,
}

/// Paints result lines (or not).
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    color: bool,
}

impl Paint {
    pub fn new(choice: ColorChoice) -> Paint {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                    && std::env::var("TERM").map_or(true, |term| term != "dumb")
            }
        };
        Paint { color }
    }

    fn paint(&self, style: anstyle::Style, text: &str) -> String {
        if self.color { format!("{}{text}{}", style.render(), style.render_reset()) } else { text.to_string() }
    }

    /// `path:line`, the path magenta and the line green (ripgrep's colors).
    pub fn location(&self, path: &str, line: u32) -> String {
        let path = self.paint(anstyle::AnsiColor::Magenta.on_default(), path);
        let line = self.paint(anstyle::AnsiColor::Green.on_default(), &line.to_string());
        format!("{path}:{line}")
    }

    pub fn kind(&self, kind: &str) -> String {
        self.paint(anstyle::AnsiColor::Cyan.on_default(), kind)
    }

    pub fn name(&self, name: &str) -> String {
        self.paint(anstyle::Style::new().bold(), name)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint(anstyle::Style::new().dimmed(), text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_is_plain_and_always_is_ansi() {
        assert_eq!(Paint::new(ColorChoice::Never).location("src/a.rs", 3), "src/a.rs:3");
        let colored = Paint::new(ColorChoice::Always).location("src/a.rs", 3);
        assert!(colored.starts_with("\u{1b}["), "{colored:?}");
        assert!(colored.contains("src/a.rs") && colored.ends_with("\u{1b}[0m"), "{colored:?}");
    }
}
