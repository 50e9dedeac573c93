//! Renders the prompt catalogue to sound files for a PBX's sound directory
//! (`sscard ivr prompts --out DIR`): `DIR/zh/<file>.wav` and `DIR/en/<file>.wav`, 8 kHz, mono,
//! 16-bit signed PCM (what Asterisk plays without transcoding). Speech comes from espeak-ng
//! (voice `cmn` for Mandarin, `en` for English) and is resampled with sox.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::prompts::{Lang, sound_files};

/// Why rendering failed.
#[derive(Debug)]
pub enum RenderError {
    /// A program is not installed.
    Missing(&'static str),
    /// A program failed.
    Failed(String),
    /// The output directory cannot be written.
    Io(std::io::Error),
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::Missing(p) => write!(
                f,
                "{p} is not installed (Debian: apt-get install espeak-ng sox); it is needed to render the prompts"
            ),
            RenderError::Failed(d) => write!(f, "rendering failed: {d}"),
            RenderError::Io(e) => write!(f, "cannot write the prompts: {e}"),
        }
    }
}

impl std::error::Error for RenderError {}

/// Whether a program answers on the PATH.
pub fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| o.status.success() || !o.stdout.is_empty())
        .unwrap_or(false)
}

/// The tools that are missing, if any.
pub fn missing_tools() -> Vec<&'static str> {
    ["espeak-ng", "sox"]
        .into_iter()
        .filter(|p| !available(p))
        .collect()
}

fn voice(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "cmn",
        Lang::En => "en",
    }
}

/// Renders every prompt in `langs` under `out`; returns the files written.
pub fn render_all(out: &Path, langs: &[Lang]) -> Result<Vec<PathBuf>, RenderError> {
    if let Some(m) = missing_tools().first() {
        return Err(RenderError::Missing(m));
    }
    let mut written = Vec::new();
    for &lang in langs {
        let dir = out.join(lang.as_str());
        std::fs::create_dir_all(&dir).map_err(RenderError::Io)?;
        for (name, text) in sound_files(lang) {
            let raw = dir.join(format!(".{name}.raw.wav"));
            let wav = dir.join(format!("{name}.wav"));
            let o = Command::new("espeak-ng")
                .args(["-v", voice(lang), "-s", "150", "-w"])
                .arg(&raw)
                .arg("--")
                .arg(&text)
                .output()
                .map_err(|_| RenderError::Missing("espeak-ng"))?;
            if !o.status.success() {
                return Err(RenderError::Failed(format!(
                    "espeak-ng for {name}: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                )));
            }
            let o = Command::new("sox")
                .arg(&raw)
                .args(["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"])
                .arg(&wav)
                .output()
                .map_err(|_| RenderError::Missing("sox"))?;
            let _ = std::fs::remove_file(&raw);
            if !o.status.success() {
                return Err(RenderError::Failed(format!(
                    "sox for {name}: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                )));
            }
            written.push(wav);
        }
    }
    Ok(written)
}
