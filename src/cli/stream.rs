//! The stream subcommands: `gcm-oracle stream-open` opens a stream file locally (no server),
//! with its key or with your private key when the key was wrapped for you;
//! `gcm-oracle stream-send` sends a file through a server's stream endpoints, with a progress
//! bar on a terminal.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal as _, Read, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use zeroize::Zeroizing;

use crate::client::Client;
use crate::crypto::Key;
use crate::crypto::stream::{StreamFormat, StreamOptions};
use crate::keys::recipient::{PrivateKey, Recipient};
use crate::oracle::stream::open_stream;
use crate::wire::envelope::Wrap;

/// A stream format, as the flags name it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// RFC 8188 `aes128gcm`.
    #[default]
    #[value(name = "aes128gcm")]
    Aes128Gcm,
    /// Tink's streaming AEAD, `AES256_GCM_HKDF_1MB`.
    #[value(name = "aes256gcm-hkdf-1mb")]
    Aes256GcmHkdf1Mb,
}

impl From<FormatArg> for StreamFormat {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Aes128Gcm => Self::Aes128Gcm,
            FormatArg::Aes256GcmHkdf1Mb => Self::Aes256GcmHkdf1Mb,
        }
    }
}

/// The key a stream is opened with: given, or wrapped for you.
#[derive(Clone, Debug, Args)]
pub struct StreamKeyArgs {
    /// A file holding the stream key in standard base64 (the `Oracle-Key` header's value).
    #[arg(long, value_name = "FILE", env = "GCM_ORACLE_STREAM_KEY_FILE")]
    pub key_file: Option<PathBuf>,

    /// Your private key (PKCS#8 PEM), for a stream whose key was wrapped for you; with
    /// --wrapped-key and --wrap.
    #[arg(long, value_name = "FILE", requires_all = ["wrapped_key", "wrap"], conflicts_with = "key_file")]
    pub private_key: Option<PathBuf>,

    /// The `Oracle-Wrapped-Key` header's value (standard base64).
    #[arg(long, value_name = "BASE64", requires = "private_key")]
    pub wrapped_key: Option<String>,

    /// The `Oracle-Wrap` header's value: rsa-oaep-sha256 or hpke-x25519-sha256-aes256gcm.
    #[arg(long, value_name = "NAME", requires = "private_key")]
    pub wrap: Option<String>,
}

/// Settings of `gcm-oracle stream-open`.
#[derive(Clone, Debug, Args)]
pub struct StreamOpenArgs {
    /// The stream's format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FormatArg,

    /// The key.
    #[command(flatten)]
    pub key: StreamKeyArgs,

    /// aes256gcm-hkdf-1mb only: the associated data, standard base64.
    #[arg(long, value_name = "BASE64")]
    pub aad_base64: Option<String>,

    /// The stream file ("-": standard input).
    #[arg(long = "in", value_name = "FILE", default_value = "-")]
    pub input: PathBuf,

    /// Where the clear text goes ("-": standard output). A file is written only once the
    /// stream authenticated in full; until then it has a `.partial` name, removed on failure.
    #[arg(long = "out", value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
}

/// Settings of `gcm-oracle stream-send`.
#[derive(Clone, Debug, Args)]
pub struct StreamSendArgs {
    /// The server's base URL.
    #[arg(long, env = "GCM_ORACLE_URL", default_value = "https://localhost:8443")]
    pub url: String,

    /// Trust only the CA certificates in this PEM file [default: the system's roots].
    #[arg(long, env = "GCM_ORACLE_CACERT", value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Decrypt through /decrypt/stream (needs the key) instead of encrypting.
    #[arg(long)]
    pub decrypt: bool,

    /// The stream's format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FormatArg,

    /// aes128gcm only, encrypting: the record size (18 to 16777216).
    #[arg(long, value_name = "BYTES")]
    pub rs: Option<u32>,

    /// aes256gcm-hkdf-1mb only: the associated data, standard base64.
    #[arg(long, value_name = "BASE64")]
    pub aad_base64: Option<String>,

    /// Encrypting: wrap the stream key for this public key (SubjectPublicKeyInfo PEM).
    #[arg(long, value_name = "FILE", conflicts_with = "decrypt")]
    pub recipient: Option<PathBuf>,

    /// Decrypting: the key.
    #[command(flatten)]
    pub key: StreamKeyArgs,

    /// The file to send.
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,

    /// Where the answer goes ("-": standard output).
    #[arg(long = "out", value_name = "FILE")]
    pub output: PathBuf,

    /// Encrypting: write the key (or the wrapped key) as one JSON line to this file, created
    /// with mode 0600 and never overwritten [default: standard output, or standard error when
    /// --out is standard output].
    #[arg(long, value_name = "FILE")]
    pub key_out: Option<PathBuf>,
}

fn at(path: &Path) -> impl Fn(io::Error) -> String + '_ {
    move |err| format!("{}: {err}", path.display())
}

fn aad_of(aad_base64: Option<&String>) -> Result<Vec<u8>, String> {
    aad_base64.map_or(Ok(Vec::new()), |aad| {
        STANDARD
            .decode(aad)
            .map_err(|_| "--aad-base64 is not standard padded base64".to_owned())
    })
}

/// The key the flags name: read from --key-file, or unwrapped with --private-key.
fn key_of(args: &StreamKeyArgs) -> Result<Key, String> {
    if let Some(path) = &args.key_file {
        let text = Zeroizing::new(fs::read_to_string(path).map_err(at(path))?);
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| format!("{}: not a standard base64 key", path.display()))?,
        );
        return Key::try_from(&bytes[..])
            .map_err(|_| format!("{}: not a 16-, 24- or 32-byte key", path.display()));
    }
    let (Some(private), Some(wrapped), Some(wrap)) =
        (&args.private_key, &args.wrapped_key, &args.wrap)
    else {
        return Err(
            "give the key: --key-file, or --private-key with --wrapped-key and --wrap".into(),
        );
    };
    let wrap = match wrap.as_str() {
        "rsa-oaep-sha256" => Wrap::RsaOaepSha256,
        "hpke-x25519-sha256-aes256gcm" => Wrap::HpkeX25519Sha256Aes256Gcm,
        _ => return Err("--wrap is rsa-oaep-sha256 or hpke-x25519-sha256-aes256gcm".into()),
    };
    let wrapped = STANDARD
        .decode(wrapped)
        .map_err(|_| "--wrapped-key is not standard padded base64".to_owned())?;
    let pem = Zeroizing::new(fs::read_to_string(private).map_err(at(private))?);
    PrivateKey::from_pem(&pem)
        .and_then(|key| key.unwrap_key(wrap, &wrapped))
        .map_err(|err| err.to_string())
}

/// `gcm-oracle stream-open`: opens a stream file locally.
///
/// # Errors
///
/// One line: a flag, a file, or a stream that is not authentic in full.
pub fn open(args: &StreamOpenArgs) -> Result<(), String> {
    let key = key_of(&args.key)?;
    let options = StreamOptions::new(args.format.into()).aad(aad_of(args.aad_base64.as_ref())?);
    let input: Box<dyn Read> = if args.input == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(&args.input).map_err(at(&args.input))?)
    };
    if args.output == Path::new("-") {
        // A pipe cannot be taken back: say plainly that what came is to be discarded.
        return open_stream(input, io::stdout().lock(), &key, &options)
            .map(drop)
            .map_err(|err| format!("{err}; discard what was written"));
    }
    let partial = partial_name(&args.output);
    let file = create_new(&partial, 0o600)?;
    match open_stream(input, BufWriter::new(file), &key, &options) {
        Ok(_) => fs::rename(&partial, &args.output).map_err(at(&args.output)),
        Err(err) => {
            let _ = fs::remove_file(&partial);
            Err(err.to_string())
        }
    }
}

fn partial_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn create_new(path: &Path, mode: u32) -> Result<File, String> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(at(path))
}

/// `gcm-oracle stream-send`: sends a file through a server's stream endpoint.
///
/// # Errors
///
/// One line: a flag, a file, the server's refusal, or a stream that ended badly.
pub async fn send(args: &StreamSendArgs) -> Result<(), String> {
    let client = match &args.cacert {
        Some(path) => Client::with_ca_pem(&args.url, &fs::read(path).map_err(at(path))?),
        None => Client::new(&args.url),
    }
    .map_err(|err| err.to_string())?;
    let mut options = StreamOptions::new(args.format.into()).aad(aad_of(args.aad_base64.as_ref())?);
    options.record_size = args.rs;
    // Created before the upload: an existing file must not cost the key of a finished stream.
    let key_out: Option<Box<dyn Write>> = match (&args.key_out, args.decrypt) {
        (Some(path), false) => Some(Box::new(create_new(path, 0o600)?)),
        _ => None,
    };
    let mut unfinished = RemoveOnDrop(args.key_out.clone().filter(|_| !args.decrypt));
    let file = tokio::fs::File::open(&args.input)
        .await
        .map_err(at(&args.input))?;
    let size = file.metadata().await.map_err(at(&args.input))?.len();
    let progress = progress_bar(size);
    let body = {
        let progress = progress.clone();
        let reader = tokio_util::io::ReaderStream::new(file);
        let counted = futures_util::StreamExt::inspect(reader, move |chunk| {
            if let Ok(chunk) = chunk {
                progress.inc(chunk.len() as u64);
            }
        });
        reqwest::Body::wrap_stream(counted)
    };
    let answer = if args.decrypt {
        let key = key_of(&args.key)?;
        client.decrypt_stream(body, &key, &options).await
    } else {
        match &args.recipient {
            Some(path) => {
                let pem = fs::read_to_string(path).map_err(at(path))?;
                let der = pem_body(&pem)
                    .ok_or_else(|| format!("{}: not a PEM public key", path.display()))?;
                Recipient::from_der(&der).map_err(|err| format!("{}: {err}", path.display()))?;
                client.encrypt_stream_for(body, &options, &der).await
            }
            None => client.encrypt_stream(body, &options).await,
        }
    };
    let mut answer = answer.map_err(|err| err.to_string())?;
    let to_stdout = args.output == Path::new("-");
    // A file gets its name only once the stream ended cleanly: until then it is `.partial`.
    let partial = partial_name(&args.output);
    let mut out: Box<dyn Write> = if to_stdout {
        Box::new(io::stdout().lock())
    } else {
        Box::new(BufWriter::new(create_new(&partial, 0o600)?))
    };
    let received = receive(&mut answer, &mut out).await;
    drop(out);
    progress.finish_and_clear();
    if let Err(err) = received {
        if !to_stdout {
            let _ = fs::remove_file(&partial);
        }
        return Err(err);
    }
    if !to_stdout {
        fs::rename(&partial, &args.output).map_err(at(&args.output))?;
    }
    unfinished.0 = None;
    match key_out {
        Some(file) => write_key(file, &answer)?,
        None if args.decrypt => {}
        None if to_stdout => write_key(Box::new(io::stderr()), &answer)?,
        None => write_key(Box::new(io::stdout()), &answer)?,
    }
    Ok(())
}

/// Removes a file we created when the command fails before it is complete.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = fs::remove_file(path);
        }
    }
}

/// Writes the answer to `out` as it comes, and flushes it.
async fn receive(
    answer: &mut crate::client::StreamResponse,
    out: &mut Box<dyn Write + '_>,
) -> Result<(), String> {
    loop {
        match answer.chunk().await {
            Ok(Some(chunk)) => out.write_all(&chunk).map_err(|err| err.to_string())?,
            Ok(None) => break,
            Err(err) => {
                return Err(format!(
                    "the stream ended before its clean end ({err}): it is not whole"
                ));
            }
        }
    }
    out.flush().map_err(|err| err.to_string())
}

/// The key line: `{"format":…,"key":…}` or `{"format":…,"wrapped_key":…,"wrap":…}`.
fn write_key(mut to: Box<dyn Write>, answer: &crate::client::StreamResponse) -> Result<(), String> {
    let mut line = serde_json::json!({"format": answer.format().name()});
    if let Some(key) = answer.key() {
        line["key"] = STANDARD.encode(key.as_bytes()).into();
    }
    if let Some((wrap, wrapped)) = answer.wrapped_key() {
        line["wrapped_key"] = STANDARD.encode(wrapped).into();
        line["wrap"] = wrap.name().into();
    }
    let line = Zeroizing::new(format!("{line}\n"));
    to.write_all(line.as_bytes())
        .and_then(|()| to.flush())
        .map_err(|err| err.to_string())
}

/// The DER inside a PEM block.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("-----"))
        .collect();
    STANDARD.decode(body).ok()
}

/// A progress bar on stderr when it is a terminal (bytes, rate, time left), else nothing.
fn progress_bar(size: u64) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {eta} left",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
