//! The words the stages share, as enums with exactly one string form each:
//! the form the database stores, logs print and JSON shows. Nothing here
//! does anything; it only names things.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares an enum whose variants each have one string form, with
/// `as_str`, `Display`, `FromStr` and serde in that form.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The one string form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<$name, UnknownWord> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownWord {
                        kind: stringify!($name),
                        word: s.to_string(),
                    }),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A string that names no value of the enum it was read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {word:?}")]
pub struct UnknownWord {
    pub kind: &'static str,
    pub word: String,
}

words! {
    /// Why a check did not produce an observation of the policy. Stored in
    /// `documents.last_error_class` and `fetches.error_class`.
    FailureClass {
        Timeout = "timeout",
        Network = "network",
        Dns = "dns",
        Tls = "tls",
        /// 404 or 410: the page may be gone.
        NotFound = "http_not_found",
        RateLimited = "rate_limited",
        HttpServer = "http_server",
        HttpClient = "http_client",
        TooLarge = "too_large",
        Redirect = "redirect",
        Body = "body",
        InvalidUrl = "invalid_url",
        /// The URL or a redirect resolves to a loopback, link-local,
        /// private or unique-local address and `allow_private_addresses`
        /// is off.
        PrivateAddress = "private_address",
        Client = "client",
        /// A bot challenge or access-denied page stood in for the policy.
        Blocked = "blocked",
        /// An error page served as success, or a much shorter extraction.
        SoftError = "soft_error",
        /// `json_field` is set and the body is not JSON or lacks the field.
        Json = "json",
        SelectorMismatch = "selector_mismatch",
        TooShort = "too_short",
        Extraction = "extraction",
        /// A 200 whose body is not the policy: binary, an image, a PDF for
        /// a document not declared as PDF.
        UnexpectedContent = "unexpected_content",
        /// The text was decoded with the wrong charset (the header or
        /// `<meta>` lies).
        BadEncoding = "bad_encoding",
        /// The page's language (its `lang` attribute, else detected from the
        /// text) is not the document's: a locale switch, not a policy change.
        WrongLanguage = "wrong_language",
        /// A PDF without a text layer (scanned pages): the PDF equivalent
        /// of a 403.
        PdfNoText = "pdf_no_text",
        /// A PDF that is encrypted or broken.
        PdfUnreadable = "pdf_unreadable",
        /// The document needs a browser (`executeClientScripts`, `render =
        /// "browser"`) and none could be started.
        NoBrowser = "no_browser",
        /// The check did not finish (a panic in a stage, or a task error).
        Internal = "internal",
    }
}

words! {
    /// Delivery state of one outbox post.
    OutboxState {
        /// Not sent yet.
        Pending = "pending",
        /// Sent at least once, outcome unknown: looked for before resending.
        Sending = "sending",
        /// The server's id is recorded.
        Sent = "sent",
        /// Refused by the server; the thread waits until someone looks.
        Failed = "failed",
    }
}

words! {
    /// What a thread in the outbox is.
    ThreadKind {
        /// A change of a watched document.
        Change = "change",
        /// A one-post notice (a page is gone).
        Notice = "notice",
        /// An answer to a mention.
        Reply = "reply",
        /// A direct message to a subscriber.
        Direct = "direct",
    }
}

words! {
    /// Who may see a post, as the Mastodon API names it. Ordered from the
    /// widest to the narrowest audience.
    Visibility {
        Public = "public",
        Unlisted = "unlisted",
        Private = "private",
        Direct = "direct",
    }
}

impl Visibility {
    /// The narrower of two visibilities: a reply is never more visible than
    /// what it answers.
    pub fn narrower(self, other: Visibility) -> Visibility {
        if (self as u8) >= (other as u8) {
            self
        } else {
            other
        }
    }
}

words! {
    /// The language bot texts are written in. Documents in other languages
    /// are announced in English.
    Lang {
        En = "en",
        Fr = "fr",
    }
}

impl Lang {
    /// The bot language for a document's language tag (`fr`, `fr-CA`…).
    pub fn for_tag(tag: &str) -> Lang {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("fr") {
            Lang::Fr
        } else {
            Lang::En
        }
    }
}

words! {
    /// What the listener did with one mention. Stored in `mentions.outcome`.
    MentionOutcome {
        Answered = "answered",
        /// Not understood; a pointer to `help` was sent.
        Unknown = "unknown",
        /// Not understood again within the hour: stayed silent.
        IgnoredUnknown = "ignored_unknown",
        /// A command with an error (unknown document…), answered with the error.
        ErrorReply = "error_reply",
        RateLimited = "rate_limited",
        /// The global posting budget was used up.
        Budget = "budget",
        IgnoredBot = "ignored_bot",
        /// The bot itself wrote it.
        Own = "own",
        /// The bot was not among the status's mentions.
        NotForUs = "not_for_us",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T>(all: &[T])
    where
        T: Copy + fmt::Display + FromStr<Err = UnknownWord> + PartialEq + fmt::Debug + Serialize,
    {
        let mut seen = std::collections::HashSet::new();
        for v in all {
            let s = v.to_string();
            assert!(seen.insert(s.clone()), "{s} is used twice");
            assert_eq!(s.parse::<T>().unwrap(), *v);
            assert_eq!(serde_json::to_string(v).unwrap(), format!("\"{s}\""));
        }
    }

    #[test]
    fn every_word_has_one_string_form() {
        round_trips(FailureClass::ALL);
        round_trips(OutboxState::ALL);
        round_trips(ThreadKind::ALL);
        round_trips(Visibility::ALL);
        round_trips(Lang::ALL);
        round_trips(MentionOutcome::ALL);
        assert!("nonsense".parse::<OutboxState>().is_err());
    }

    #[test]
    fn visibility_is_never_widened() {
        use Visibility::*;
        assert_eq!(Direct.narrower(Unlisted), Direct);
        assert_eq!(Public.narrower(Unlisted), Unlisted);
        assert_eq!(Private.narrower(Unlisted), Private);
    }

    #[test]
    fn language_tags_map_to_bot_languages() {
        assert_eq!(Lang::for_tag("fr"), Lang::Fr);
        assert_eq!(Lang::for_tag("fr-CA"), Lang::Fr);
        assert_eq!(Lang::for_tag("en"), Lang::En);
        assert_eq!(Lang::for_tag("de"), Lang::En);
    }
}
