//! CSV as RFC 4180 reads it, for exports: fields separated by commas, records ended by CRLF,
//! a field quoted when it holds a comma, a quote or a line break (its quotes doubled), and
//! defused when a spreadsheet would run it as a formula.

/// Appends one CSV record (RFC 4180: fields separated by commas, the record ended by CRLF).
pub fn csv_record(out: &mut Vec<u8>, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        csv_field(out, f);
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends one CSV field. A value a spreadsheet would run as a formula (one starting with
/// `=`, `+`, `-`, `@`, or a tab or carriage return that some programs skip before them) gets
/// an apostrophe in front: CSV formula injection (OWASP). Exports hold text that other people
/// chose (key names, user agents, reported URLs), and the file is opened in spreadsheets.
/// A field with a comma, a quote or a line break is quoted, its quotes doubled (RFC 4180).
pub fn csv_field(out: &mut Vec<u8>, value: &str) {
    let guard = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = value.contains([',', '"', '\r', '\n']);
    if quote {
        out.push(b'"');
    }
    if guard {
        out.push(b'\'');
    }
    for b in value.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    if quote {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(fields: &[&str]) -> String {
        let mut out = Vec::new();
        csv_record(&mut out, fields);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        assert_eq!(csv(&["a", "b c", ""]), "a,b c,\r\n");
        assert_eq!(
            csv(&["x,y", "say \"hi\"", "1\n2"]),
            "\"x,y\",\"say \"\"hi\"\"\",\"1\n2\"\r\n"
        );
        assert_eq!(
            csv(&["=1+1", "+1", "-1", "@SUM(A1)"]),
            "'=1+1,'+1,'-1,'@SUM(A1)\r\n"
        );
        assert_eq!(
            csv(&["=HYPERLINK(\"x\",\"y\")"]),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"\r\n"
        );
        assert_eq!(
            csv(&["a=b", "2026-12-01T00:00:00Z"]),
            "a=b,2026-12-01T00:00:00Z\r\n"
        );
    }
}
