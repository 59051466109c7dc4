//! The path form of the REST API: `GET|POST /set/key/value?EX=10` is the command
//! `["set","key","value","EX","10"]`.
//!
//! Path segments are split before they are percent-decoded, so `%2F` carries a slash inside an
//! argument. Query pairs append their key, then their value when it is non-empty (so `?NX` and
//! `?NX=` both append just `NX`); `_token` is the credential, never an argument. A non-empty
//! POST body is the argument after the path's, raw, which is how clients send values too
//! large or too binary for a URL; arguments after the value go in the query, as Upstash
//! documents: `POST /set/key?EX=10` with body `v` is `["set","key","v","EX","10"]`.

/// A query string split into the command's extra arguments and the `_token` credential.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Query {
    /// Arguments in order of appearance: key, then value when it is non-empty.
    pub(crate) args: Vec<Vec<u8>>,
    /// The decoded `_token` value, if the query carries one.
    pub(crate) token: Option<Vec<u8>>,
}

/// The query parameter that carries the token instead of the `Authorization` header.
const TOKEN_PARAM: &[u8] = b"_token";

/// Splits a raw (still percent-encoded) query string. Form rules apply, as browsers and HTTP
/// clients encode queries: `+` is a space, `%XX` a byte.
pub(crate) fn parse_query(raw: Option<&str>) -> Query {
    let mut query = Query::default();
    for pair in raw.unwrap_or("").split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key, true);
        let value = percent_decode(value, true);
        if key == TOKEN_PARAM {
            query.token = Some(value);
            continue;
        }
        query.args.push(key);
        if !value.is_empty() {
            query.args.push(value);
        }
    }
    query
}

/// The arguments that a raw (still percent-encoded) path names: one per segment. A trailing
/// slash adds no empty argument, but an empty segment inside the path does (`/set/k//`
/// is `set k ""`), so an empty value can still be written.
pub(crate) fn path_args(path: &str) -> Vec<Vec<u8>> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Vec::new();
    }
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    trimmed
        .split('/')
        .map(|segment| percent_decode(segment, false))
        .collect()
}

/// The full argument list of a path-form request: path segments, the body when there is one,
/// then query arguments.
pub(crate) fn command_args(path: &str, query: &Query, body: Option<&[u8]>) -> Vec<Vec<u8>> {
    let mut args = path_args(path);
    if let Some(body) = body.filter(|body| !body.is_empty()) {
        args.push(body.to_vec());
    }
    args.extend(query.args.iter().cloned());
    args
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, for queries). A `%` not
/// followed by two hex digits is kept as it is, as browsers do, rather than refusing the
/// request: the bytes reach Redis unchanged and the user sees them in the answer.
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'%' => {
                let high = bytes.get(index + 1).copied().and_then(hex_value);
                let low = bytes.get(index + 2).copied().and_then(hex_value);
                if let (Some(high), Some(low)) = (high, low) {
                    out.push(high << 4 | low);
                    index += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' if plus_is_space => out.push(b' '),
            other => out.push(other),
        }
        index += 1;
    }
    out
}

/// The value of one hexadecimal digit.
fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(args: &[Vec<u8>]) -> Vec<String> {
        args.iter()
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect()
    }

    #[test]
    fn segments_are_decoded_arguments() {
        assert_eq!(text(&path_args("/set/key/value")), ["set", "key", "value"]);
        assert_eq!(
            text(&path_args("/set/a%2Fb/hello%20world+x")),
            ["set", "a/b", "hello world+x"]
        );
        assert_eq!(
            path_args("/set/k/%FF"),
            [b"set".to_vec(), b"k".to_vec(), vec![0xFF]]
        );
    }

    #[test]
    fn trailing_slash_is_ignored_but_inner_empty_segments_count() {
        assert_eq!(text(&path_args("/get/key/")), ["get", "key"]);
        assert_eq!(text(&path_args("/set/k//")), ["set", "k", ""]);
        assert!(path_args("/").is_empty());
        assert!(path_args("").is_empty());
    }

    #[test]
    fn query_pairs_append_key_then_value() {
        let query = parse_query(Some("EX=10&NX&XX=&_token=s%20ecret"));
        assert_eq!(text(&query.args), ["EX", "10", "NX", "XX"]);
        assert_eq!(query.token.as_deref(), Some(&b"s ecret"[..]));
    }

    #[test]
    fn query_uses_form_decoding() {
        let query = parse_query(Some("a+b=c%2Bd&&=x"));
        assert_eq!(text(&query.args), ["a b", "c+d", "", "x"]);
        assert_eq!(parse_query(None), Query::default());
    }

    #[test]
    fn body_follows_the_path_and_precedes_the_query() {
        let query = parse_query(Some("EX=10"));
        let args = command_args("/set/key", &query, Some(b"{\"raw\": 1}"));
        assert_eq!(text(&args), ["set", "key", "{\"raw\": 1}", "EX", "10"]);
        let args = command_args("/get/key", &Query::default(), Some(b""));
        assert_eq!(text(&args), ["get", "key"]);
    }

    #[test]
    fn malformed_escapes_are_kept_literally() {
        assert_eq!(percent_decode("100%", false), b"100%");
        assert_eq!(percent_decode("%zz%4", false), b"%zz%4");
        assert_eq!(percent_decode("%41%62", false), b"Ab");
    }
}
