//! `clausewatch login` and `clausewatch doctor`: set-up of the account.

use super::*;

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// The instance, e.g. `https://mastodon.social`.
    #[arg(long)]
    pub instance: Url,
    /// Where to write the token (mode 0600).
    #[arg(long, default_value = "token")]
    pub token_file: PathBuf,
    /// Replace an existing token file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// `clausewatch login`: registers the app and writes a token file.
pub async fn login(args: LoginArgs) -> Result<Exit> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout();
    crate::fediverse::setup::login(
        &args.instance,
        &args.token_file,
        args.force,
        &mut input,
        &mut out,
    )
    .await?;
    Ok(Exit::Ok)
}

/// `clausewatch doctor`: checks the config, the instance and the token, and
/// says what to fix. Exit 1 when something needs fixing.
pub async fn doctor(args: DoctorArgs) -> Result<Exit> {
    let config = args.config.load()?;
    let mut out = std::io::stdout();
    if let Some(note) = config.filters_note() {
        writeln!(out, "note: {note}")?;
    }
    let ok = crate::fediverse::setup::doctor(&config, &mut out).await?;
    Ok(if ok { Exit::Ok } else { Exit::CheckFailed })
}
