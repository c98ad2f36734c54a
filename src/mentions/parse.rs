//! Turns the HTML of a status that mentions the bot into a [`Command`].
//!
//! People type commands on phones, in two languages, with polite words,
//! punctuation and whatever quotes their keyboard produces, so the parser is
//! forgiving everywhere except where guessing would answer the wrong question:
//! a document reference that fits several documents is an error listing them.
//! Nothing here does I/O; the caller passes the watched documents.

use crate::domain::Lang;
use std::collections::BTreeSet;

use chrono::NaiveDate;
use regex::Regex;
use std::sync::LazyLock;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Longest command text considered, in characters; a status is at most a few
/// hundred characters on most servers, and the cap bounds the work per mention.
pub const MAX_INPUT_CHARS: usize = 500;
/// HTML beyond this many bytes is not parsed at all (the text cap would drop it anyway).
const MAX_HTML_BYTES: usize = 20_000;
/// A document reference never needs more words than this.
const MAX_DOC_WORDS: usize = 8;
/// `history` returns at most this many versions, to fit a short thread.
pub const MAX_HISTORY: usize = 20;
pub const DEFAULT_HISTORY: usize = 5;
/// At most this many ids are offered when a document reference fails.
const MAX_SUGGESTIONS: usize = 5;

/// What the parser needs to know about a watched document.
#[derive(Debug, Clone, PartialEq)]
pub struct DocInfo {
    pub id: String,
    pub name: String,
    pub service: String,
    pub language: String,
    pub tags: Vec<String>,
}

/// A version of a document, as people name it in `diff`.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionSpec {
    Number(i64),
    Date(NaiveDate),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help,
    List {
        tag: Option<String>,
    },
    History {
        doc: String,
        n: usize,
    },
    Diff {
        doc: String,
        from: Option<VersionSpec>,
        to: Option<VersionSpec>,
    },
    Show {
        doc: String,
        date: Option<NaiveDate>,
        query: Option<String>,
    },
    When {
        doc: String,
        phrase: String,
    },
    Status,
    Subscribe {
        doc: String,
    },
    Unsubscribe {
        doc: String,
    },
    Subscriptions,
    Check {
        doc: String,
    },
    Pause {
        doc: String,
    },
    Resume {
        doc: String,
    },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("the mention contains no command")]
    Empty,
    #[error("unknown command {word:?}")]
    Unknown { word: String },
    #[error("no watched document matches {query:?}; closest: {}", closest.join(", "))]
    UnknownDocument { query: String, closest: Vec<String> },
    #[error("{query:?} matches several documents: {}", candidates.join(", "))]
    AmbiguousDocument {
        query: String,
        candidates: Vec<String>,
    },
    #[error("usage: {usage}")]
    Usage {
        command: &'static str,
        usage: &'static str,
    },
}

impl Command {
    /// The English command word, for logs and the mention records.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Help => "help",
            Command::List { .. } => "list",
            Command::History { .. } => "history",
            Command::Diff { .. } => "diff",
            Command::Show { .. } => "show",
            Command::When { .. } => "when",
            Command::Status => "status",
            Command::Subscribe { .. } => "subscribe",
            Command::Unsubscribe { .. } => "unsubscribe",
            Command::Subscriptions => "subscriptions",
            Command::Check { .. } => "check",
            Command::Pause { .. } => "pause",
            Command::Resume { .. } => "resume",
        }
    }

    /// Whether only accounts in `[fediverse] admins` may run it.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Command::Check { .. } | Command::Pause { .. } | Command::Resume { .. }
        )
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Help,
    List,
    History,
    Diff,
    Show,
    When,
    Status,
    Subscribe,
    Unsubscribe,
    Subscriptions,
    Check,
    Pause,
    Resume,
}

/// Command words after folding (lowercase, accents removed, `’` as `'`).
const ALIASES: &[(&str, Kind)] = &[
    ("help", Kind::Help),
    ("aide", Kind::Help),
    ("commands", Kind::Help),
    ("commandes", Kind::Help),
    ("list", Kind::List),
    ("liste", Kind::List),
    ("lister", Kind::List),
    ("history", Kind::History),
    ("historique", Kind::History),
    ("diff", Kind::Diff),
    ("changes", Kind::Diff),
    ("changements", Kind::Diff),
    ("show", Kind::Show),
    ("montre", Kind::Show),
    ("montre-moi", Kind::Show),
    ("affiche", Kind::Show),
    ("afficher", Kind::Show),
    ("affiche-moi", Kind::Show),
    ("when", Kind::When),
    ("quand", Kind::When),
    ("status", Kind::Status),
    ("statut", Kind::Status),
    ("etat", Kind::Status),
    ("subscribe", Kind::Subscribe),
    ("sub", Kind::Subscribe),
    ("abonner", Kind::Subscribe),
    ("abonne", Kind::Subscribe),
    ("abonne-moi", Kind::Subscribe),
    ("s'abonner", Kind::Subscribe),
    ("unsubscribe", Kind::Unsubscribe),
    ("unsub", Kind::Unsubscribe),
    ("desabonner", Kind::Unsubscribe),
    ("desabonne", Kind::Unsubscribe),
    ("desabonne-moi", Kind::Unsubscribe),
    ("se-desabonner", Kind::Unsubscribe),
    ("subscriptions", Kind::Subscriptions),
    ("abonnements", Kind::Subscriptions),
    ("check", Kind::Check),
    ("verifier", Kind::Check),
    ("verifie", Kind::Check),
    ("pause", Kind::Pause),
    ("resume", Kind::Resume),
    ("reprendre", Kind::Resume),
    ("reprends", Kind::Resume),
];

/// Greetings and requests that may precede the command word.
const LEADING_FILLERS: &[&[&str]] = &[
    &["hey"],
    &["hi"],
    &["hello"],
    &["bonjour"],
    &["salut"],
    &["coucou"],
    &["ok"],
    &["my"],
    &["mes"],
    &["can", "you"],
    &["could", "you"],
    &["would", "you"],
    &["will", "you"],
    &["peux-tu"],
    &["pourrais-tu"],
    &["tu", "peux"],
];

/// Politeness that may appear anywhere outside quotes and never carries meaning.
const POLITE: &[&[&str]] = &[
    &["please"],
    &["pls"],
    &["plz"],
    &["stp"],
    &["svp"],
    &["merci"],
    &["thanks"],
    &["thx"],
    &["thank", "you"],
    &["s'il", "te", "plait"],
    &["s'il", "vous", "plait"],
];

/// Words of a document reference that never distinguish documents.
const STOPWORDS: &[&str] = &[
    "the", "to", "of", "for", "from", "me", "a", "an", "on", "in", "my", "and", "s", "de", "du",
    "des", "la", "le", "les", "l", "d", "au", "aux", "pour", "et", "doc", "document", "sur",
];

/// Pairs of words that name the same thing in document references: a
/// service's old and new names, and English/French document words.
const SYNONYMS: &[(&str, &str)] = &[
    ("x", "twitter"),
    ("privacy", "confidentialite"),
    ("terms", "conditions"),
    ("terms", "tos"),
    ("terms", "cgu"),
];

static DATE_LIKE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{4}-\d{1,2}-\d{1,2}$").expect("static regex"));
static VERSION_LIKE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^v?(\d{1,9})$").expect("static regex"));

/// Plain text of status HTML, one line per line break or paragraph.
pub fn status_text(html: &str) -> String {
    let text = crate::html_text::html_to_text(truncate_bytes(html, MAX_HTML_BYTES));
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

/// The text after the mentions a client puts in front (`@bot`, `@bot@host`,
/// several of them, and any separating commas or colons).
pub fn strip_leading_mentions(text: &str) -> &str {
    let mut rest = text.trim_start();
    while let Some(after_at) = rest.strip_prefix('@') {
        let end = after_at
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '@')))
            .unwrap_or(after_at.len());
        if end == 0 {
            break;
        }
        rest = after_at[end..]
            .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | ';'));
    }
    rest
}

/// Parses the HTML content of a mention into a command, resolving document
/// references against `docs`.
pub fn parse(html_content: &str, docs: &[DocInfo]) -> Result<Command, ParseError> {
    let text = status_text(html_content);
    let text = truncate_chars(strip_leading_mentions(&text), MAX_INPUT_CHARS);
    parse_text(text, docs)
}

/// The language the mention is written in, as far as its command word (or
/// its greeting) tells: `quand`, `historique`, `bonjour` are French, `when`,
/// `history`, `hello` English; `diff` and `pause` say nothing.
pub fn language(html_content: &str) -> Option<Lang> {
    let text = status_text(html_content);
    let text = truncate_chars(strip_leading_mentions(&text), MAX_INPUT_CHARS);
    let mut tokens = tokenize(text);
    remove_polite(&mut tokens);
    let greeting = tokens.first().and_then(|t| match t.key.as_str() {
        "bonjour" | "salut" | "coucou" | "peux-tu" | "pourrais-tu" | "tu" | "mes" => Some(Lang::Fr),
        "hey" | "hi" | "hello" | "can" | "could" | "would" | "will" | "my" => Some(Lang::En),
        _ => None,
    });
    let start = command_start(&tokens);
    tokens
        .get(start)
        .and_then(|t| word_language(&t.key))
        .or(greeting)
}

/// The language of a command word, when only one language uses it.
fn word_language(word: &str) -> Option<Lang> {
    const FRENCH: &[&str] = &[
        "aide",
        "commandes",
        "liste",
        "lister",
        "historique",
        "changements",
        "montre",
        "montre-moi",
        "affiche",
        "afficher",
        "affiche-moi",
        "quand",
        "statut",
        "etat",
        "abonner",
        "abonne",
        "abonne-moi",
        "s'abonner",
        "desabonner",
        "desabonne",
        "desabonne-moi",
        "se-desabonner",
        "abonnements",
        "verifier",
        "verifie",
        "reprendre",
        "reprends",
    ];
    const AMBIGUOUS: &[&str] = &["diff", "pause"];
    if FRENCH.contains(&word) {
        Some(Lang::Fr)
    } else if AMBIGUOUS.contains(&word) || !ALIASES.iter().any(|(w, _)| *w == word) {
        None
    } else {
        Some(Lang::En)
    }
}

/// Index of the command word: after any greeting or request.
fn command_start(tokens: &[Token]) -> usize {
    let mut start = 0;
    'fillers: loop {
        for filler in LEADING_FILLERS {
            if starts_with_words(&tokens[start..], filler) {
                start += filler.len();
                continue 'fillers;
            }
        }
        break;
    }
    start
}

fn parse_text(text: &str, docs: &[DocInfo]) -> Result<Command, ParseError> {
    let mut tokens = tokenize(text);
    remove_polite(&mut tokens);
    let start = command_start(&tokens);
    let tokens = &tokens[start..];
    let Some(first) = tokens.first() else {
        return Err(ParseError::Empty);
    };
    if first.key == "?" {
        return Ok(Command::Help);
    }
    let rest: Vec<Token> = tokens[1..]
        .iter()
        .filter(|t| t.key != "?")
        .cloned()
        .collect();
    let Some(kind) = ALIASES
        .iter()
        .find(|(w, _)| *w == first.key)
        .map(|(_, k)| *k)
    else {
        return Err(ParseError::Unknown {
            word: first.text.clone(),
        });
    };
    let command = match kind {
        Kind::Help => Command::Help,
        Kind::Status => Command::Status,
        Kind::Subscriptions => Command::Subscriptions,
        Kind::List => Command::List {
            tag: rest
                .first()
                .map(|t| t.key.clone())
                .filter(|t| !matches!(t.as_str(), "all" | "tout" | "tous" | "everything")),
        },
        Kind::History => {
            let usage = usage_error("history", "history DOC [N]");
            let (doc, rest) = take_doc(&rest, docs, |t| is_number(&t.key), usage)?;
            let n = rest
                .iter()
                .find(|t| is_number(&t.key))
                .map(|t| t.key.parse::<usize>().unwrap_or(MAX_HISTORY))
                .unwrap_or(DEFAULT_HISTORY)
                .clamp(1, MAX_HISTORY);
            Command::History { doc, n }
        }
        Kind::Diff => {
            let usage = usage_error(
                "diff",
                "diff DOC [FROM] [TO] (versions like 3 or v3, or dates like 2023-09-01)",
            );
            let (doc, rest) = take_doc(&rest, docs, |t| is_version_or_date(&t.key), usage.clone())?;
            let mut specs = Vec::new();
            for token in rest {
                for part in token.key.split("..").filter(|p| is_version_or_date(p)) {
                    specs.push(version_spec(part).ok_or_else(|| usage.clone())?);
                }
            }
            if specs.len() > 2 {
                return Err(usage);
            }
            let mut specs = specs.into_iter();
            Command::Diff {
                doc,
                from: specs.next(),
                to: specs.next(),
            }
        }
        Kind::Show => {
            let usage = usage_error("show", "show DOC [DATE] [SECTION or WORDS]");
            let (doc, mut rest) =
                take_doc(&rest, docs, |t| DATE_LIKE.is_match(&t.key), usage.clone())?;
            let mut date = None;
            if let Some(t) = rest.first().filter(|t| DATE_LIKE.is_match(&t.key)) {
                date = Some(parse_date(&t.key).ok_or(usage)?);
                rest = &rest[1..];
            }
            let query = join_text(rest);
            Command::Show {
                doc,
                date,
                query: (!query.is_empty()).then_some(query),
            }
        }
        Kind::When => {
            let usage = usage_error("when", "when DOC \"PHRASE\"");
            let (doc, rest) = take_doc(&rest, docs, |t| t.quoted, usage.clone())?;
            let phrase = match rest.iter().find(|t| t.quoted) {
                Some(t) => t.text.clone(),
                None => join_text(rest),
            };
            if phrase.is_empty() {
                return Err(usage);
            }
            Command::When { doc, phrase }
        }
        Kind::Subscribe => Command::Subscribe {
            doc: only_doc(&rest, docs, "subscribe")?,
        },
        Kind::Unsubscribe => Command::Unsubscribe {
            doc: only_doc(&rest, docs, "unsubscribe")?,
        },
        Kind::Check => Command::Check {
            doc: only_doc(&rest, docs, "check")?,
        },
        Kind::Pause => Command::Pause {
            doc: only_doc(&rest, docs, "pause")?,
        },
        Kind::Resume => Command::Resume {
            doc: only_doc(&rest, docs, "resume")?,
        },
    };
    Ok(command)
}

fn usage_error(command: &'static str, usage: &'static str) -> ParseError {
    ParseError::Usage { command, usage }
}

/// A command whose only argument is a document; trailing words are ignored.
fn only_doc(rest: &[Token], docs: &[DocInfo], command: &'static str) -> Result<String, ParseError> {
    let usage = match command {
        "subscribe" => "subscribe DOC",
        "unsubscribe" => "unsubscribe DOC",
        "check" => "check DOC",
        "pause" => "pause DOC",
        _ => "resume DOC",
    };
    take_doc(rest, docs, |_| false, usage_error(command, usage)).map(|(doc, _)| doc)
}

#[derive(Debug, Clone)]
struct Token {
    /// As typed, without surrounding punctuation (or the quoted text).
    text: String,
    /// Folded for comparisons: lowercase, accents dropped, `’` as `'`.
    key: String,
    quoted: bool,
}

fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == '’' { '\'' } else { c })
        .collect()
}

/// Closing quotes accepted for each opening quote; people mix straight and
/// curly quotes, and some keyboards produce a closing quote first.
fn closers(open: char) -> Option<&'static [char]> {
    Some(match open {
        '"' | '“' | '”' | '„' => &['"', '”', '“'],
        '«' => &['»'],
        '»' => &['«'],
        '\'' | '‘' | '’' => &['\'', '’', '‘'],
        _ => return None,
    })
}

/// Splits on whitespace, keeping quoted phrases whole. A single quote only
/// opens at the start of a word and only closes at the end of one, since
/// apostrophes are everywhere in French ("s'il", "l'âge") and in "X's".
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let Some(c) = rest.chars().next() else { break };
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        if let Some(close_at) = closers(c).and_then(|cl| find_closer(&rest[c.len_utf8()..], c, cl))
        {
            let inner = &rest[c.len_utf8()..c.len_utf8() + close_at];
            let phrase = inner.trim();
            if !phrase.is_empty() {
                tokens.push(Token {
                    text: phrase.to_string(),
                    key: fold(phrase),
                    quoted: true,
                });
            }
            let after = &rest[c.len_utf8() + close_at..];
            let close_len = after.chars().next().map_or(0, char::len_utf8);
            i += c.len_utf8() + close_at + close_len;
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        let text = trim_punctuation(word);
        let key = if text.is_empty() && word.contains('?') {
            "?".to_string()
        } else {
            fold(text)
        };
        if !key.is_empty() {
            tokens.push(Token {
                text: text.to_string(),
                key,
                quoted: false,
            });
        }
        i += end;
    }
    tokens
}

/// Byte offset of the quote closing a phrase that started just before `s`.
fn find_closer(s: &str, open: char, closers: &[char]) -> Option<usize> {
    let single = matches!(open, '\'' | '‘' | '’');
    s.char_indices().find_map(|(at, c)| {
        if !closers.contains(&c) {
            return None;
        }
        if single
            && s[at + c.len_utf8()..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric)
        {
            return None;
        }
        Some(at)
    })
}

fn trim_punctuation(word: &str) -> &str {
    word.trim_matches(|c: char| !c.is_alphanumeric())
}

fn starts_with_words(tokens: &[Token], words: &[&str]) -> bool {
    tokens.len() >= words.len()
        && tokens
            .iter()
            .zip(words)
            .all(|(t, w)| !t.quoted && t.key == *w)
}

fn remove_polite(tokens: &mut Vec<Token>) {
    let mut i = 0;
    while i < tokens.len() {
        match POLITE.iter().find(|p| starts_with_words(&tokens[i..], p)) {
            Some(p) => {
                tokens.drain(i..i + p.len());
            }
            None => i += 1,
        }
    }
}

fn join_text(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_version_or_date(s: &str) -> bool {
    VERSION_LIKE.is_match(s)
        || DATE_LIKE.is_match(s)
        || (s.contains("..") && s.split("..").any(is_version_or_date))
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn version_spec(s: &str) -> Option<VersionSpec> {
    if let Some(caps) = VERSION_LIKE.captures(s) {
        return caps[1].parse().ok().map(VersionSpec::Number);
    }
    parse_date(s).map(VersionSpec::Date)
}

/// Takes the document reference from the front of `tokens`: it ends before
/// the first token for which `stop` holds (the next argument) and is the
/// longest run of words that still names a document, so that trailing words
/// (a `show` query, an unquoted `when` phrase) are left to the command.
fn take_doc<'t>(
    tokens: &'t [Token],
    docs: &[DocInfo],
    stop: impl Fn(&Token) -> bool,
    usage: ParseError,
) -> Result<(String, &'t [Token]), ParseError> {
    let limit = tokens
        .iter()
        .position(stop)
        .unwrap_or(tokens.len())
        .min(MAX_DOC_WORDS);
    if limit == 0 {
        return Err(usage);
    }
    if let Some(doc) = docs.iter().find(|d| fold(&d.id) == tokens[0].key) {
        return Ok((doc.id.clone(), &tokens[1..]));
    }
    for k in (1..=limit).rev() {
        match resolve(&tokens[..k], docs) {
            Resolved::One(id) => return Ok((id, &tokens[k..])),
            Resolved::Several(candidates) => {
                return Err(ParseError::AmbiguousDocument {
                    query: join_text(&tokens[..k]),
                    candidates,
                })
            }
            Resolved::None => {}
        }
    }
    let query = &tokens[..limit];
    Err(ParseError::UnknownDocument {
        query: join_text(query),
        closest: closest(query, docs),
    })
}

enum Resolved {
    One(String),
    Several(Vec<String>),
    None,
}

/// Words of a reference that can distinguish documents.
fn content_parts(tokens: &[Token]) -> Vec<String> {
    tokens
        .iter()
        .flat_map(|t| {
            t.key
                .split(['-', '_', '/', '\''])
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty() && !STOPWORDS.contains(&p.as_str()))
        .collect()
}

fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(w))
        .map(str::to_string)
        .collect::<Vec<_>>()
        .into_iter()
}

fn with_synonyms(terms: BTreeSet<String>) -> BTreeSet<String> {
    let mut out = terms.clone();
    for (a, b) in SYNONYMS {
        if terms.contains(*a) {
            out.insert(b.to_string());
        }
        if terms.contains(*b) {
            out.insert(a.to_string());
        }
    }
    out
}

fn language_terms(code: &str) -> &'static [&'static str] {
    match code {
        "en" => &["english", "anglais"],
        "fr" => &["french", "francais"],
        "de" => &["german", "allemand", "deutsch"],
        "es" => &["spanish", "espagnol", "espanol"],
        _ => &[],
    }
}

/// The words that identify one document, split by role.
struct DocTerms {
    /// Service name and its aliases.
    service: BTreeSet<String>,
    /// Words of the id and name (with synonyms), language code and names.
    all: BTreeSet<String>,
    /// Words a full reference would name; used to prefer the closer of two fits.
    core: BTreeSet<String>,
}

impl DocTerms {
    fn new(doc: &DocInfo) -> Self {
        let service = with_synonyms(words(&doc.service).collect());
        let core: BTreeSet<String> = words(&doc.id)
            .chain(words(&doc.name))
            .chain(words(&doc.service))
            .collect();
        let mut all = with_synonyms(core.clone());
        all.extend(service.iter().cloned());
        let lang = fold(&doc.language);
        all.extend(language_terms(&lang).iter().map(|s| s.to_string()));
        all.insert(lang);
        DocTerms { service, all, core }
    }

    /// Whether a word of a reference fits: equal to a term, or a prefix of at
    /// least four letters of one ("priv", "confid").
    fn fits(&self, part: &str) -> bool {
        self.all.contains(part)
            || (part.chars().count() >= 4 && self.all.iter().any(|t| t.starts_with(part)))
    }

    /// Core words of the document the reference does not mention.
    fn unmatched(&self, parts: &[String]) -> usize {
        let mentioned = with_synonyms(parts.iter().cloned().collect());
        self.core
            .iter()
            .filter(|t| {
                !mentioned
                    .iter()
                    .any(|m| m == *t || (m.chars().count() >= 4 && t.starts_with(m.as_str())))
            })
            .count()
    }
}

fn resolve(tokens: &[Token], docs: &[DocInfo]) -> Resolved {
    let parts = content_parts(tokens);
    if parts.is_empty() {
        return Resolved::None;
    }
    let joined = parts.join("-");
    if let Some(doc) = docs.iter().find(|d| fold(&d.id) == joined) {
        return Resolved::One(doc.id.clone());
    }
    let terms: Vec<(&DocInfo, DocTerms)> = docs.iter().map(|d| (d, DocTerms::new(d))).collect();
    let mut fitting: Vec<(&DocInfo, &DocTerms)> = terms
        .iter()
        .filter(|(_, t)| parts.iter().all(|p| t.fits(p)))
        .map(|(d, t)| (*d, t))
        .collect();
    match fitting.len() {
        0 => return Resolved::None,
        1 => return Resolved::One(fitting[0].0.id.clone()),
        _ => {}
    }
    fitting.sort_by_key(|(d, t)| (t.unmatched(&parts), d.id.clone()));
    let ids = || {
        fitting
            .iter()
            .take(MAX_SUGGESTIONS)
            .map(|(d, _)| d.id.clone())
            .collect::<Vec<_>>()
    };
    // Naming only a service does not choose among its documents, however
    // short one document's name is.
    let service_only = parts
        .iter()
        .all(|p| fitting.iter().any(|(_, t)| t.service.contains(p)));
    if service_only {
        return Resolved::Several(ids());
    }
    let best = fitting[0].1.unmatched(&parts);
    if fitting[1].1.unmatched(&parts) > best {
        Resolved::One(fitting[0].0.id.clone())
    } else {
        Resolved::Several(ids())
    }
}

/// Ids most similar to a reference that matched nothing, best first.
fn closest(tokens: &[Token], docs: &[DocInfo]) -> Vec<String> {
    let parts = content_parts(tokens);
    let joined = parts.join("-");
    let mut scored: Vec<(f64, &str)> = docs
        .iter()
        .map(|d| {
            let terms = DocTerms::new(d);
            let per_part = if parts.is_empty() {
                0.0
            } else {
                let sum: f64 = parts
                    .iter()
                    .map(|p| {
                        terms
                            .all
                            .iter()
                            .map(|t| similarity(p, t))
                            .fold(0.0, f64::max)
                    })
                    .sum();
                sum / parts.len() as f64
            };
            (
                per_part.max(similarity(&joined, &fold(&d.id))),
                d.id.as_str(),
            )
        })
        .filter(|(s, _)| *s >= 0.4)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, id)| id.to_string())
        .collect()
}

/// 1 for equal strings, 0 for nothing in common (Levenshtein over
/// characters); two empty strings have nothing in common.
fn similarity(a: &str, b: &str) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    strsim::normalized_levenshtein(a, b)
}

fn truncate_chars(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(at, _)| &s[..at])
}

fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod language_tests {
    use super::*;

    #[test]
    fn the_command_word_tells_the_language() {
        let l = |t: &str| language(&format!("<p>@bot {t}</p>"));
        assert_eq!(l("quand x-privacy \"biometric\""), Some(Lang::Fr));
        assert_eq!(l("historique x-privacy"), Some(Lang::Fr));
        assert_eq!(l("statut"), Some(Lang::Fr));
        assert_eq!(l("when x-privacy \"biometric\""), Some(Lang::En));
        assert_eq!(l("bonjour diff x-privacy"), Some(Lang::Fr));
        assert_eq!(l("diff x-privacy"), None);
        assert_eq!(l("gibberish"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, name: &str, service: &str, language: &str, tags: &[&str]) -> DocInfo {
        DocInfo {
            id: id.into(),
            name: name.into(),
            service: service.into(),
            language: language.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn docs() -> Vec<DocInfo> {
        vec![
            doc("x-privacy", "Privacy Policy", "X", "en", &["social"]),
            doc("x-terms", "Terms of Service", "X", "en", &["social"]),
            doc(
                "x-privacy-fr",
                "Politique de confidentialité",
                "X",
                "fr",
                &["social"],
            ),
            doc(
                "reddit-privacy",
                "Privacy Policy",
                "Reddit",
                "en",
                &["social"],
            ),
            doc(
                "google-privacy",
                "Privacy Policy",
                "Google",
                "en",
                &["search"],
            ),
        ]
    }

    fn p(text: &str) -> Result<Command, ParseError> {
        parse(text, &docs())
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn when(doc: &str, phrase: &str) -> Command {
        Command::When {
            doc: doc.into(),
            phrase: phrase.into(),
        }
    }

    #[test]
    fn help_in_both_languages_and_as_question_mark() {
        for text in [
            "@clausewatch help",
            "@clausewatch AIDE",
            "@clausewatch ?",
            "@clausewatch help?",
            "@clausewatch bonjour, aide svp",
        ] {
            assert_eq!(p(text), Ok(Command::Help), "{text}");
        }
    }

    #[test]
    fn list_with_and_without_tag() {
        assert_eq!(p("@clausewatch list"), Ok(Command::List { tag: None }));
        assert_eq!(
            p("@clausewatch liste Social"),
            Ok(Command::List {
                tag: Some("social".into())
            })
        );
        assert_eq!(p("@clausewatch list all"), Ok(Command::List { tag: None }));
    }

    #[test]
    fn history_count_defaults_and_cap() {
        let h = |doc: &str, n| Ok(Command::History { doc: doc.into(), n });
        assert_eq!(p("@clausewatch history x-privacy"), h("x-privacy", 5));
        assert_eq!(p("@clausewatch historique x-privacy 3"), h("x-privacy", 3));
        assert_eq!(p("@clausewatch history x-privacy 999"), h("x-privacy", 20));
        assert_eq!(
            p("@clausewatch history x-privacy 99999999999999999999999"),
            h("x-privacy", 20)
        );
        assert_eq!(p("@clausewatch history x-privacy?"), h("x-privacy", 5));
        assert_eq!(
            p("@clausewatch history twitter privacy 3"),
            h("x-privacy", 3)
        );
        assert_eq!(
            p("@clausewatch history x-privacy, last 7 versions"),
            h("x-privacy", 7)
        );
        assert!(matches!(
            p("@clausewatch history"),
            Err(ParseError::Usage {
                command: "history",
                ..
            })
        ));
    }

    #[test]
    fn diff_versions_and_dates() {
        let d = |from, to| {
            Ok(Command::Diff {
                doc: "x-privacy".into(),
                from,
                to,
            })
        };
        assert_eq!(p("@clausewatch diff x-privacy"), d(None, None));
        assert_eq!(
            p("@clausewatch diff x-privacy 3"),
            d(Some(VersionSpec::Number(3)), None)
        );
        assert_eq!(
            p("@clausewatch diff x-privacy v3 V5"),
            d(Some(VersionSpec::Number(3)), Some(VersionSpec::Number(5)))
        );
        assert_eq!(
            p("@clausewatch diff x privacy policy from 2023-09-01 to 2024-01-15"),
            d(
                Some(VersionSpec::Date(date("2023-09-01"))),
                Some(VersionSpec::Date(date("2024-01-15")))
            )
        );
        assert_eq!(
            p("@clausewatch diff x-privacy 2023-09-01..v7"),
            d(
                Some(VersionSpec::Date(date("2023-09-01"))),
                Some(VersionSpec::Number(7))
            )
        );
        assert!(matches!(
            p("@clausewatch diff x-privacy 2023-13-01"),
            Err(ParseError::Usage {
                command: "diff",
                ..
            })
        ));
        assert!(matches!(
            p("@clausewatch diff x-privacy 1 2 3"),
            Err(ParseError::Usage {
                command: "diff",
                ..
            })
        ));
    }

    #[test]
    fn show_date_and_query() {
        let s = |date, query: Option<&str>| {
            Ok(Command::Show {
                doc: "x-privacy".into(),
                date,
                query: query.map(String::from),
            })
        };
        assert_eq!(p("@clausewatch show x-privacy"), s(None, None));
        assert_eq!(
            p("@clausewatch show x-privacy 2023-09-01"),
            s(Some(date("2023-09-01")), None)
        );
        assert_eq!(
            p("@clausewatch montre x-privacy Biometric data"),
            s(None, Some("Biometric data"))
        );
        assert_eq!(
            p("@clausewatch affiche twitter privacy policy biometric"),
            s(None, Some("biometric"))
        );
        assert_eq!(
            p("@clausewatch afficher x privacy 2023-09-01 section 3"),
            s(Some(date("2023-09-01")), Some("section 3"))
        );
    }

    #[test]
    fn when_with_every_kind_of_quote() {
        let expected = Ok(when("x-privacy", "biometric"));
        for text in [
            "@clausewatch when x-privacy \"biometric\"",
            "@clausewatch WHEN x-privacy “biometric”",
            "@clausewatch when x-privacy ‘biometric’",
            "@clausewatch when x-privacy 'biometric'",
            "@clausewatch when x-privacy « biometric »",
            "@clausewatch when x-privacy biometric",
            "@clausewatch please, when x-privacy 'biometric'!",
            "@clausewatch when x privacy policy \"biometric\"",
            "@clausewatch when X's privacy policy \"biometric\"",
            "@clausewatch when X’s privacy policy “biometric”?",
        ] {
            assert_eq!(p(text), expected, "{text}");
        }
        assert_eq!(
            p("@clausewatch when x-privacy \"don't sell\" please"),
            Ok(when("x-privacy", "don't sell"))
        );
        assert_eq!(
            p("@clausewatch when x-privacy 'l'âge minimum'"),
            Ok(when("x-privacy", "l'âge minimum"))
        );
        assert_eq!(
            p("@clausewatch when x-privacy biometric data"),
            Ok(when("x-privacy", "biometric data"))
        );
        assert!(matches!(
            p("@clausewatch when x-privacy"),
            Err(ParseError::Usage {
                command: "when",
                ..
            })
        ));
    }

    #[test]
    fn status_subscriptions_and_document_commands() {
        assert_eq!(p("@clausewatch status"), Ok(Command::Status));
        assert_eq!(p("@clausewatch état"), Ok(Command::Status));
        assert_eq!(p("@clausewatch etat"), Ok(Command::Status));
        assert_eq!(p("@clausewatch statut"), Ok(Command::Status));
        assert_eq!(p("@clausewatch subscriptions"), Ok(Command::Subscriptions));
        assert_eq!(
            p("@clausewatch mes abonnements"),
            Ok(Command::Subscriptions)
        );
        let sub = Ok(Command::Subscribe {
            doc: "x-privacy".into(),
        });
        assert_eq!(p("@clausewatch subscribe x-privacy"), sub);
        assert_eq!(
            p("@clausewatch subscribe me to the twitter privacy policy"),
            sub
        );
        assert_eq!(p("@clausewatch abonne-moi à x-privacy"), sub);
        assert_eq!(p("@clausewatch s'abonner x-privacy"), sub);
        assert_eq!(p("@clausewatch s’abonner x-privacy"), sub);
        let unsub = Ok(Command::Unsubscribe {
            doc: "x-privacy".into(),
        });
        assert_eq!(p("@clausewatch unsubscribe x-privacy"), unsub);
        assert_eq!(p("@clausewatch désabonner x-privacy"), unsub);
        assert_eq!(p("@clausewatch desabonner x-privacy"), unsub);
    }

    #[test]
    fn admin_commands() {
        let cases = [
            (
                "check x-terms",
                Command::Check {
                    doc: "x-terms".into(),
                },
            ),
            (
                "vérifier x-terms",
                Command::Check {
                    doc: "x-terms".into(),
                },
            ),
            (
                "verifier x-terms",
                Command::Check {
                    doc: "x-terms".into(),
                },
            ),
            (
                "pause reddit-privacy",
                Command::Pause {
                    doc: "reddit-privacy".into(),
                },
            ),
            (
                "resume reddit privacy",
                Command::Resume {
                    doc: "reddit-privacy".into(),
                },
            ),
            (
                "reprendre reddit-privacy",
                Command::Resume {
                    doc: "reddit-privacy".into(),
                },
            ),
        ];
        for (text, expected) in cases {
            let got = p(&format!("@clausewatch {text}")).unwrap();
            assert!(got.is_admin(), "{text}");
            assert_eq!(got, expected, "{text}");
        }
        assert!(!Command::Status.is_admin());
        assert!(!Command::Subscribe { doc: "x".into() }.is_admin());
        assert!(matches!(
            p("@clausewatch pause"),
            Err(ParseError::Usage {
                command: "pause",
                ..
            })
        ));
    }

    #[test]
    fn names_are_the_english_words() {
        assert_eq!(
            p("@clausewatch historique x-privacy").unwrap().name(),
            "history"
        );
        assert_eq!(
            p("@clausewatch reprendre x-privacy").unwrap().name(),
            "resume"
        );
        assert_eq!(
            p("@clausewatch quand x-privacy « a »").unwrap().name(),
            "when"
        );
    }

    #[test]
    fn forgiving_document_references() {
        let cases = [
            ("twitter privacy", "x-privacy"),
            ("x privacy policy", "x-privacy"),
            ("X's privacy policy", "x-privacy"),
            ("the Twitter Privacy Policy", "x-privacy"),
            ("X-PRIVACY", "x-privacy"),
            ("x terms", "x-terms"),
            ("twitter tos", "x-terms"),
            ("x privacy fr", "x-privacy-fr"),
            ("twitter politique de confidentialité", "x-privacy-fr"),
            ("x privacy french", "x-privacy-fr"),
            ("reddit", "reddit-privacy"),
            ("google privacy", "google-privacy"),
        ];
        for (reference, id) in cases {
            assert_eq!(
                p(&format!("@clausewatch subscribe {reference}")),
                Ok(Command::Subscribe { doc: id.into() }),
                "{reference}"
            );
        }
    }

    #[test]
    fn service_alone_is_ambiguous_when_it_has_several_documents() {
        match p("@clausewatch subscribe x") {
            Err(ParseError::AmbiguousDocument { query, candidates }) => {
                assert_eq!(query, "x");
                assert_eq!(candidates.len(), 3);
                for id in ["x-privacy", "x-terms", "x-privacy-fr"] {
                    assert!(candidates.contains(&id.to_string()), "{candidates:?}");
                }
            }
            other => panic!("{other:?}"),
        }
        let two = vec![docs()[0].clone(), docs()[1].clone()];
        match parse("@clausewatch history twitter", &two) {
            Err(ParseError::AmbiguousDocument { candidates, .. }) => {
                assert_eq!(candidates.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        // "privacy" alone fits the privacy policies of three services.
        assert!(matches!(
            p("@clausewatch subscribe privacy"),
            Err(ParseError::AmbiguousDocument { .. })
        ));
    }

    #[test]
    fn unknown_document_lists_closest_ids_best_first() {
        match p("@clausewatch history twiter privacy") {
            Err(ParseError::UnknownDocument { query, closest }) => {
                assert_eq!(query, "twiter privacy");
                assert!(!closest.is_empty() && closest.len() <= 5, "{closest:?}");
                assert_eq!(closest[0], "x-privacy");
            }
            other => panic!("{other:?}"),
        }
        match p("@clausewatch subscribe redit-privacy") {
            Err(ParseError::UnknownDocument { closest, .. }) => {
                assert_eq!(closest[0], "reddit-privacy")
            }
            other => panic!("{other:?}"),
        }
        match p("@clausewatch subscribe zzzzqqq") {
            Err(ParseError::UnknownDocument { closest, .. }) => {
                assert!(closest.is_empty(), "{closest:?}")
            }
            other => panic!("{other:?}"),
        }
        let err = p("@clausewatch subscribe redit-privacy")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("redit-privacy") && err.contains("reddit-privacy"),
            "{err}"
        );
    }

    #[test]
    fn empty_and_unknown_commands() {
        assert_eq!(p("@clausewatch"), Err(ParseError::Empty));
        assert_eq!(
            p("<p>@clausewatch @other@host.test</p>"),
            Err(ParseError::Empty)
        );
        assert_eq!(p("@clausewatch hello please"), Err(ParseError::Empty));
        assert_eq!(p(""), Err(ParseError::Empty));
        assert_eq!(
            p("@clausewatch Frobnicate x-privacy"),
            Err(ParseError::Unknown {
                word: "Frobnicate".into()
            })
        );
    }

    #[test]
    fn status_text_breaks_tags_and_entities() {
        assert_eq!(
            status_text("<p>a<br>b<br/>c<BR />d</p><p>e &amp; &quot;f&quot; &#39;g&#39;</p>"),
            "a\nb\nc\nd\ne & \"f\" 'g'"
        );
        assert_eq!(status_text("<p>one</p><p>two</p>"), "one\ntwo");
    }

    #[test]
    fn leading_mentions_are_dropped() {
        assert_eq!(strip_leading_mentions("@clausewatch help"), "help");
        assert_eq!(
            strip_leading_mentions("  @clausewatch@fedi.test, @alice: help @bob"),
            "help @bob"
        );
        assert_eq!(strip_leading_mentions("@ help"), "@ help");
        assert_eq!(strip_leading_mentions("help"), "help");
        assert_eq!(
            strip_leading_mentions("@clausewatch\nhistory x"),
            "history x"
        );
    }

    #[test]
    fn fixture_mastodon_mention_link() {
        let html = include_str!("testdata/mastodon-mention-link.html");
        assert_eq!(
            strip_leading_mentions(&status_text(html)),
            "when x-privacy \"biometric\""
        );
        assert_eq!(p(html), Ok(when("x-privacy", "biometric")));
    }

    #[test]
    fn fixture_two_mentions_paragraphs_br() {
        let html = include_str!("testdata/two-mentions-paragraphs-br.html");
        assert_eq!(
            p(html),
            Ok(Command::History {
                doc: "x-privacy".into(),
                n: 3
            })
        );
    }

    #[test]
    fn fixture_entity_apostrophe_quotes() {
        let html = include_str!("testdata/entity-apostrophe-quotes.html");
        assert_eq!(p(html), Ok(when("x-privacy", "biometric data")));
    }

    #[test]
    fn fixture_french_guillemets() {
        let html = include_str!("testdata/french-guillemets.html");
        assert_eq!(p(html), Ok(when("x-privacy-fr", "biométriques")));
    }

    #[test]
    fn fixture_uppercase_br_no_space() {
        let html = include_str!("testdata/uppercase-br-no-space.html");
        assert_eq!(
            p(html),
            Ok(Command::Show {
                doc: "x-privacy".into(),
                date: Some(date("2023-09-01")),
                query: Some("Biometric&Data".into())
            })
        );
    }

    #[test]
    fn input_is_capped() {
        let phrase = "a".repeat(2000);
        match p(&format!("@clausewatch when x-privacy {phrase}")) {
            Ok(Command::When { phrase, .. }) => {
                assert_eq!(
                    phrase.chars().count(),
                    MAX_INPUT_CHARS - "when x-privacy ".len()
                )
            }
            other => panic!("{other:?}"),
        }
        let huge = format!("<p>@clausewatch help {}</p>", "<b>x</b>".repeat(100_000));
        assert_eq!(p(&huge), Ok(Command::Help));
    }

    #[test]
    fn no_documents_at_all() {
        assert!(
            matches!(parse("@clausewatch history x-privacy", &[]), Err(ParseError::UnknownDocument { closest, .. }) if closest.is_empty())
        );
        assert_eq!(parse("@clausewatch help", &[]), Ok(Command::Help));
    }
}
