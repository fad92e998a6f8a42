//! Domain types and rules of the 幸福圆桌会 mechanism (DOMAIN.md). No I/O, no async, no SQL:
//! everything here is a pure function of its arguments and is tested directly.

pub mod access;
pub mod calendar;
pub mod cases;
pub mod exchange;
pub mod links;
pub mod meeting;
pub mod obligations;
pub mod org;
pub mod password;
pub mod people;
pub mod privacy;
pub mod project;
pub mod questionnaire;
pub mod resources;
pub mod second_factor;
pub mod similarity;
pub mod topics;
pub mod validate;
pub mod warnings;
pub mod wishes;

pub use validate::FieldErrors;

/// Implements `code()`, `label()` (Chinese), `parse()` (accepts code or label) and `ALL` for a
/// closed set of domain values, so that the database, the API and the pages share one spelling.
#[macro_export]
macro_rules! domain_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = ($code:literal, $label:literal)),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Stable code stored in the database and used in the API.
            pub fn code(self) -> &'static str { match self { $($name::$variant => $code),+ } }
            /// Chinese name shown on pages and in Excel files.
            pub fn label(self) -> &'static str { match self { $($name::$variant => $label),+ } }
            /// Accepts the code or the Chinese name (trimmed).
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.code() == s || v.label() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.label()) }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.code()) }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown value `{s}`")))
            }
        }
    };
}
