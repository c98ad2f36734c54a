//! The compact forms the store keeps instead of rows and repeated text:
//! a version's clause sequence as one blob, and a clause's normalized form
//! as an edit of its original wording.

use crate::pipeline::clauses::ClauseKind;

/// Bytes per clause in a version's sequence: text id (4), heading path id
/// (3), kind (1). A fixed width, big-endian, so that migration 0006 can
/// build it in SQL (`unhex(printf('%08x%06x%02x', …))`) and a version that
/// changes one clause of 180 costs 1.4 KB of sequence, not 180 rows.
pub(super) const SEQ_ENTRY: usize = 8;

/// The largest heading path id the sequence can hold (24 bits).
pub(super) const MAX_PATH_ID: i64 = 0xff_ffff;

/// One clause of a version's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SeqEntry {
    pub text: i64,
    pub path: i64,
    pub kind: ClauseKind,
}

/// The kind as one byte; headings keep their level (16 + level), which is
/// what migration 0006 computes from the old `kind` and `level` columns.
pub(super) fn kind_code(kind: ClauseKind) -> u8 {
    match kind {
        ClauseKind::Paragraph => 0,
        ClauseKind::ListItem => 1,
        ClauseKind::TableRow => 2,
        ClauseKind::Heading { level } => 16u8.saturating_add(level),
    }
}

fn kind_of(code: u8) -> Option<ClauseKind> {
    Some(match code {
        0 => ClauseKind::Paragraph,
        1 => ClauseKind::ListItem,
        2 => ClauseKind::TableRow,
        16..=255 => ClauseKind::Heading { level: code - 16 },
        _ => return None,
    })
}

pub(super) fn encode_seq(entries: &[SeqEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * SEQ_ENTRY);
    for e in entries {
        out.extend_from_slice(&(e.text as u32).to_be_bytes());
        out.extend_from_slice(&(e.path as u32).to_be_bytes()[1..]);
        out.push(kind_code(e.kind));
    }
    out
}

/// The inverse of [`encode_seq`]; `Err` says what is wrong with the blob.
pub(super) fn decode_seq(blob: &[u8]) -> Result<Vec<SeqEntry>, String> {
    if !blob.len().is_multiple_of(SEQ_ENTRY) {
        return Err(format!(
            "clause sequence of {} bytes is not a multiple of {SEQ_ENTRY}",
            blob.len()
        ));
    }
    blob.chunks_exact(SEQ_ENTRY)
        .enumerate()
        .map(|(i, e)| {
            let text = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            let path = u32::from_be_bytes([0, e[4], e[5], e[6]]);
            let kind = kind_of(e[7]).ok_or_else(|| {
                format!(
                    "clause {i} of the sequence has an unknown kind code {}",
                    e[7]
                )
            })?;
            Ok(SeqEntry {
                text: i64::from(text),
                path: i64::from(path),
                kind,
            })
        })
        .collect()
}

/// zstd level of snapshots: level 9 cost about 20 ms of CPU per version.
const ZSTD_LEVEL: i32 = 3;

thread_local! {
    /// One compression context per thread, reused: making one per snapshot
    /// cost megabytes of allocation each time.
    static CCTX: std::cell::RefCell<Option<zstd::zstd_safe::CCtx<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn zstd_error(code: usize) -> std::io::Error {
    std::io::Error::other(zstd::zstd_safe::get_error_name(code))
}

/// Bodies from this size get a first, smaller output buffer: a share
/// (1/`FIRST_TRY_SHARE`) of the body.
const FIRST_TRY_FROM: usize = 1 << 20;
const FIRST_TRY_SHARE: usize = 8;

fn is_dst_too_small(code: usize) -> bool {
    // zstd returns its error codes negated.
    code == (zstd::zstd_safe::zstd_sys::ZSTD_ErrorCode::ZSTD_error_dstSize_tooSmall as usize)
        .wrapping_neg()
}

/// `body` compressed with `prefix` (possibly empty) as raw-content
/// dictionary. The prefix is only referenced for the call, never copied
/// into the context: against a 10 MB parent snapshot, loading it as a
/// dictionary cost another 10 MB.
pub(super) fn compress(body: &[u8], prefix: &[u8]) -> std::io::Result<Vec<u8>> {
    CCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        let cctx = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(
                zstd::zstd_safe::CCtx::try_create()
                    .ok_or_else(|| std::io::Error::other("cannot allocate a zstd context"))?,
            ),
        };
        let bound = zstd::zstd_safe::compress_bound(body.len());
        // A big page's frame is a small part of it (against its parent, a
        // few hundred bytes): room for the bound, the body's size, was 10
        // MB more at the peak of a 10 MB page's check. Only a frame that
        // does not fit is compressed again, with room for any.
        if body.len() >= FIRST_TRY_FROM {
            let mut out = Vec::with_capacity(body.len() / FIRST_TRY_SHARE);
            match cctx.compress_using_dict(&mut out, body, prefix, ZSTD_LEVEL) {
                Ok(_) => return Ok(out),
                Err(code) if !is_dst_too_small(code) => return Err(zstd_error(code)),
                Err(_) => {}
            }
        }
        let mut out = Vec::with_capacity(bound);
        cctx.compress_using_dict(&mut out, body, prefix, ZSTD_LEVEL)
            .map_err(zstd_error)?;
        // The bound is the body's size: give back what the frame does not use.
        out.shrink_to_fit();
        Ok(out)
    })
}

/// The inverse of [`compress`]: `size` is the body's length.
pub(super) fn decompress(blob: &[u8], prefix: &[u8], size: usize) -> std::io::Result<Vec<u8>> {
    let mut dctx = zstd::zstd_safe::DCtx::try_create()
        .ok_or_else(|| std::io::Error::other("cannot allocate a zstd context"))?;
    let mut out = Vec::with_capacity(size);
    dctx.decompress_using_dict(&mut out, blob, prefix)
        .map_err(zstd_error)?;
    Ok(out)
}

/// How far ahead [`norm_edit`] looks for the two strings to agree again,
/// and how many bytes must agree: normalization replaces a quote or dash
/// (3 bytes) by one, drops an invisible character, or collapses a run of
/// spaces, so short windows find every edit it makes.
const LOOKAHEAD: usize = 12;
const AGREE: usize = 4;

/// `norm` as an edit of `text`, or `None` when the edit would not be much
/// smaller than `norm` itself. The edit is a list of operations, each
/// `copy` bytes from the text, `skip` bytes of it, then `insert` literal
/// bytes: varint, varint, varint length, bytes. A third of the clauses
/// differ from their normalized form, nearly always by a few quotes or
/// dashes, so the edit is a few bytes where the form was hundreds.
pub(super) fn norm_edit(text: &str, norm: &str) -> Option<Vec<u8>> {
    let (a, b) = (text.as_bytes(), norm.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    loop {
        let start = i;
        let run = a[i..]
            .iter()
            .zip(&b[j..])
            .take_while(|(x, y)| x == y)
            .count();
        i += run;
        j += run;
        if i == a.len() && j == b.len() {
            put_varint(&mut out, (i - start) as u64);
            put_varint(&mut out, 0);
            put_varint(&mut out, 0);
            break;
        }
        let (skip, insert) = resync(&a[i..], &b[j..])?;
        put_varint(&mut out, (i - start) as u64);
        put_varint(&mut out, skip as u64);
        put_varint(&mut out, insert as u64);
        out.extend_from_slice(&b[j..j + insert]);
        i += skip;
        j += insert;
        if out.len() * 2 > b.len() {
            return None;
        }
    }
    (out.len() * 2 <= b.len()).then_some(out)
}

/// The smallest (skip, insert) after which `a` and `b` agree again.
fn resync(a: &[u8], b: &[u8]) -> Option<(usize, usize)> {
    let agree = |x: &[u8], y: &[u8]| {
        let n = AGREE.min(x.len()).min(y.len());
        x[..n] == y[..n] && (n == AGREE || x.len() == y.len())
    };
    for d in 1..=2 * LOOKAHEAD {
        for skip in (0..=d.min(LOOKAHEAD)).rev() {
            let insert = d - skip;
            if insert > LOOKAHEAD || skip > a.len() || insert > b.len() {
                continue;
            }
            if agree(&a[skip..], &b[insert..]) {
                return Some((skip, insert));
            }
        }
    }
    None
}

/// Applies an edit made by [`norm_edit`] to `text`.
pub(super) fn apply_norm_edit(text: &str, edit: &[u8]) -> Result<String, String> {
    let a = text.as_bytes();
    let mut out = Vec::with_capacity(a.len());
    let (mut i, mut at) = (0usize, 0usize);
    let bad = || "the normalized form's edit does not fit its text".to_string();
    while at < edit.len() {
        let copy = get_varint(edit, &mut at).ok_or_else(bad)? as usize;
        let skip = get_varint(edit, &mut at).ok_or_else(bad)? as usize;
        let insert = get_varint(edit, &mut at).ok_or_else(bad)? as usize;
        let copied = a
            .get(i..i.checked_add(copy).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        out.extend_from_slice(copied);
        i += copy + skip;
        let inserted = edit
            .get(at..at.checked_add(insert).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        out.extend_from_slice(inserted);
        at += insert;
    }
    String::from_utf8(out).map_err(|_| bad())
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::extract::normalize;

    #[test]
    fn normalized_forms_are_rebuilt_from_small_edits() {
        let cases = [
            "These Terms (“Terms”) govern your access — and use.",
            "  Spaces   collapse\u{200B} and  invisible characters go.  ",
            "## A heading marker",
            "- a bullet ‘quoted’ …",
            "Ｆｕｌｌ width folds under NFKC ﬁ ligature",
            "nothing to change here at all",
            "“",
            "",
        ];
        for text in cases {
            let norm = normalize(text);
            match norm_edit(text, &norm) {
                Some(edit) => {
                    assert_eq!(apply_norm_edit(text, &edit).unwrap(), norm, "{text:?}");
                    assert!(edit.len() * 2 <= norm.len(), "{text:?}: {edit:?}");
                }
                None => assert!(norm.len() < 48, "{text:?}"),
            }
        }
        let long = "We may use “your” information — including ‘cookies’ — to help. ".repeat(6);
        let norm = normalize(&long);
        let edit = norm_edit(&long, &norm).expect("a few quotes and dashes are a small edit");
        assert_eq!(apply_norm_edit(&long, &edit).unwrap(), norm);
        assert!(
            edit.len() < norm.len() / 2,
            "{} of {}",
            edit.len(),
            norm.len()
        );
    }

    #[test]
    fn a_damaged_edit_is_an_error_not_a_panic() {
        let text = "We use “cookies” a lot.";
        let edit = norm_edit(text, &normalize(text)).unwrap();
        for cut in 0..edit.len() {
            let _ = apply_norm_edit(text, &edit[..cut]);
        }
        assert!(apply_norm_edit("short", &[0x7f, 0, 0]).is_err());
        assert!(apply_norm_edit("short", &[0x80]).is_err());
    }

    #[test]
    fn sequences_round_trip_and_bad_blobs_are_errors() {
        let entries = [
            SeqEntry {
                text: 1,
                path: 0,
                kind: ClauseKind::Heading { level: 2 },
            },
            SeqEntry {
                text: 4_000_000_000,
                path: MAX_PATH_ID,
                kind: ClauseKind::TableRow,
            },
            SeqEntry {
                text: 7,
                path: 3,
                kind: ClauseKind::Paragraph,
            },
            SeqEntry {
                text: 8,
                path: 3,
                kind: ClauseKind::ListItem,
            },
        ];
        let blob = encode_seq(&entries);
        assert_eq!(blob.len(), entries.len() * SEQ_ENTRY);
        assert_eq!(decode_seq(&blob).unwrap(), entries);
        assert!(decode_seq(&blob[..7])
            .unwrap_err()
            .contains("multiple of 8"));
        let mut bad = blob.clone();
        bad[7] = 9;
        assert!(decode_seq(&bad)
            .unwrap_err()
            .contains("unknown kind code 9"));
    }

    #[test]
    fn snapshots_round_trip_against_a_prefix_and_read_older_frames() {
        let parent: Vec<u8> = (0..5000)
            .flat_map(|i| format!("<p>Clause {i}: we may share your data.</p>\n").into_bytes())
            .collect();
        let mut body = parent.clone();
        body.splice(1000..1000, b"<p>One clause added.</p>".iter().copied());
        for prefix in [&parent[..], &[][..]] {
            let blob = compress(&body, prefix).unwrap();
            assert_eq!(decompress(&blob, prefix, body.len()).unwrap(), body);
            // Frames written before (the dictionary loaded into the
            // context) and after read the same both ways.
            let older = zstd::bulk::Compressor::with_dictionary(3, prefix)
                .unwrap()
                .compress(&body)
                .unwrap();
            assert_eq!(decompress(&older, prefix, body.len()).unwrap(), body);
            let read_before = zstd::bulk::Decompressor::with_dictionary(prefix)
                .unwrap()
                .decompress(&blob, body.len())
                .unwrap();
            assert_eq!(read_before, body);
        }
        // The parent helps, and as much as when it was loaded as a
        // dictionary.
        let with = compress(&body, &parent).unwrap().len();
        let alone = compress(&body, &[]).unwrap().len();
        let loaded = zstd::bulk::Compressor::with_dictionary(3, &parent)
            .unwrap()
            .compress(&body)
            .unwrap()
            .len();
        assert!(
            with * 3 < alone && with <= loaded + loaded / 10,
            "{with} bytes against the parent, {loaded} with it loaded, {alone} alone"
        );
        // The wrong prefix is an error or other bytes, never the body.
        let blob = compress(&body, &parent).unwrap();
        assert!(decompress(&blob, b"other", body.len()).map_or(true, |b| b != body));
    }

    #[test]
    fn big_bodies_round_trip_whether_or_not_their_frame_fits_the_first_buffer() {
        use rand::{RngCore, SeedableRng};
        let mut noise = vec![0u8; FIRST_TRY_FROM + 4096];
        rand::rngs::StdRng::seed_from_u64(13).fill_bytes(&mut noise);
        let text: Vec<u8> = (0..40_000)
            .flat_map(|i| format!("<p>Clause {i}: we may share your data.</p>\n").into_bytes())
            .collect();
        assert!(text.len() >= FIRST_TRY_FROM);
        // Noise does not compress: its frame is larger than the first
        // buffer and is made again with room for it.
        let blob = compress(&noise, &[]).unwrap();
        assert!(blob.len() > noise.len() / FIRST_TRY_SHARE);
        assert_eq!(decompress(&blob, &[], noise.len()).unwrap(), noise);
        // Against itself as the prefix, text fits the first buffer, which
        // is all the frame holds.
        let blob = compress(&text, &text).unwrap();
        assert!(
            blob.capacity() <= text.len() / FIRST_TRY_SHARE,
            "{}",
            blob.capacity()
        );
        assert_eq!(decompress(&blob, &text, text.len()).unwrap(), text);
    }
}
