//! The access token: from `CLAUSEWATCH_TOKEN`, or from a token file that only
//! its owner can read. The token never appears in `Debug` output, logs or
//! errors.

use std::fmt;
use std::path::{Path, PathBuf};

/// An access token. `Debug` and `Display` print `[redacted]`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(s: impl Into<String>) -> Token {
        Token(s.into())
    }

    /// The secret itself, only for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no access token: set CLAUSEWATCH_TOKEN or [fediverse] token_file (run `clausewatch login` to get one)")]
    Missing,
    #[error("token file {path} is readable by others (mode {mode:o}); run `chmod 600 {path}`")]
    Insecure { path: PathBuf, mode: u32 },
    #[error("cannot read token file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("token file {path} is empty")]
    Empty { path: PathBuf },
}

/// Reads the token: the environment first (containers, systemd), then the
/// token file.
pub fn load(token_file: Option<&Path>) -> Result<Token, TokenError> {
    if let Ok(t) = std::env::var("CLAUSEWATCH_TOKEN") {
        if !t.trim().is_empty() {
            return Ok(Token(t.trim().to_string()));
        }
    }
    let path = token_file.ok_or(TokenError::Missing)?;
    read_file(path)
}

/// Reads a token file, refusing one that group or others can read.
pub fn read_file(path: &Path) -> Result<Token, TokenError> {
    let meta = std::fs::metadata(path).map_err(|source| TokenError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(TokenError::Insecure {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(Token(token.to_string()))
}

/// Writes a token file with mode 0600 (created with that mode, never
/// readable by others even for a moment).
pub fn write_file(path: &Path, token: &Token) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    writeln!(f, "{}", token.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let t = Token::new("s3cr3t-value");
        assert_eq!(format!("{t:?}"), "Token([redacted])");
    }

    #[cfg(unix)]
    #[test]
    fn token_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        write_file(&p, &Token::new("abc")).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_file(&p).unwrap().expose(), "abc");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_file(&p).unwrap_err().to_string();
        assert!(
            err.contains("readable by others") && err.contains("644"),
            "{err}"
        );
        assert!(!err.contains("abc"));
    }
}
