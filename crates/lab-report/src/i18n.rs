//! The languages the lab speaks, and the shape every translated text takes: a
//! message is a typed value with its parameters (an enum per family of
//! messages), and each language renders it from its own table (a function per
//! family and language, matching every variant). Adding a message is a variant
//! and an arm in each table; adding a language is a [`Language`], a method of
//! [`Localized`] and a table per family. The compiler finds every place.

use std::fmt;
use std::str::FromStr;

/// A language the lab speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// English.
    #[default]
    English,
    /// Korean, the tutorial's language.
    Korean,
}

impl Language {
    /// Every language, in the order they are listed to users.
    pub const ALL: [Language; 2] = [Language::English, Language::Korean];

    /// The code used on the command line (`en`, `ko`).
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Korean => "ko",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Language::ALL
            .into_iter()
            .find(|l| l.code() == text)
            .ok_or_else(|| format!("unknown language `{text}`: expected en or ko"))
    }
}

/// A message every language renders, each from its own table.
pub trait Localized {
    /// The message from the English table.
    fn english(&self) -> String;

    /// The message from the Korean table.
    fn korean(&self) -> String;

    /// The message in `language`.
    fn render(&self, language: Language) -> String {
        match language {
            Language::English => self.english(),
            Language::Korean => self.korean(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Greeting {
        Hello { name: String },
    }

    impl Localized for Greeting {
        fn english(&self) -> String {
            match self {
                Greeting::Hello { name } => format!("hello {name}"),
            }
        }

        fn korean(&self) -> String {
            match self {
                Greeting::Hello { name } => format!("{name}님 안녕하세요"),
            }
        }
    }

    #[test]
    fn a_message_renders_from_the_languages_table() {
        let hello = Greeting::Hello { name: "ada".into() };
        assert_eq!(hello.render(Language::English), "hello ada");
        assert_eq!(hello.render(Language::Korean), "ada님 안녕하세요");
    }

    #[test]
    fn languages_are_named_by_their_codes() {
        for language in Language::ALL {
            assert_eq!(language.code().parse(), Ok(language));
        }
        assert_eq!(
            "fr".parse::<Language>(),
            Err("unknown language `fr`: expected en or ko".to_owned())
        );
    }
}
