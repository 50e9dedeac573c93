//! `sscard ivr prompts`: every prompt rendered to an 8 kHz mono WAV. Needs espeak-ng and sox
//! (CI installs them); without them the test prints why and skips.

use sscard_ivr::prompts::{Lang, sound_files};
use sscard_ivr::render;

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

#[test]
fn every_prompt_becomes_an_8khz_mono_wav() {
    let missing = render::missing_tools();
    if !missing.is_empty() {
        eprintln!(
            "SKIPPED: {} not installed (apt-get install espeak-ng sox); prompt rendering not tested",
            missing.join(" and ")
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let written = render::render_all(dir.path(), &[Lang::Zh, Lang::En]).unwrap();
    let expected = sound_files(Lang::Zh).len() + sound_files(Lang::En).len();
    assert_eq!(written.len(), expected);
    for name in ["main-menu", "medical-balance.1", "unit-yuan"] {
        for lang in ["zh", "en"] {
            let path = dir.path().join(lang).join(format!("{name}.wav"));
            let b = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(&b[0..4], b"RIFF");
            assert_eq!(&b[8..12], b"WAVE");
            assert_eq!(u16_at(&b, 22), 1, "{name}: mono");
            assert_eq!(u32_at(&b, 24), 8000, "{name}: 8 kHz");
            assert_eq!(u16_at(&b, 34), 16, "{name}: 16-bit");
            assert!(b.len() > 44 + 1600, "{name}: some speech");
        }
    }
    // No temporary files are left behind.
    for lang in ["zh", "en"] {
        for e in std::fs::read_dir(dir.path().join(lang)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            assert!(name.ends_with(".wav") && !name.starts_with('.'), "{name}");
        }
    }
}
