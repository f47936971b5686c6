//! Reading records out of CSV and JSON bytes, and writing result rows as CSV or JSON.

use std::io::Read;

use super::SelectError;
use super::value::{V, write_json_object};

/// How CSV input is split (InputSerialization.CSV).
#[derive(Debug, Clone)]
pub struct CsvIn {
    pub field: u8,
    pub record: u8,
    pub quote: u8,
    pub escape: u8,
    pub comment: Option<u8>,
    pub quoted_records: bool,
}

/// Reads CSV records from a byte stream: a state machine over the bytes, fields kept in
/// reused buffers.
pub struct CsvReader<R: Read> {
    input: R,
    cfg: CsvIn,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    fields: Vec<String>,
    bytes: Vec<u8>,
    /// Bytes of the current record (for ScanRange accounting).
    pub consumed: u64,
}

impl<R: Read> CsvReader<R> {
    pub fn new(input: R, cfg: CsvIn) -> Self {
        CsvReader {
            input,
            cfg,
            buf: vec![0; 256 << 10],
            pos: 0,
            end: 0,
            eof: false,
            fields: Vec::new(),
            bytes: Vec::new(),
            consumed: 0,
        }
    }

    fn next_byte(&mut self) -> Result<Option<u8>, SelectError> {
        if self.pos == self.end {
            if self.eof {
                return Ok(None);
            }
            self.end = self.input.read(&mut self.buf).map_err(read_error)?;
            self.pos = 0;
            if self.end == 0 {
                self.eof = true;
                return Ok(None);
            }
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        self.consumed += 1;
        Ok(Some(b))
    }

    fn peek_byte(&mut self) -> Result<Option<u8>, SelectError> {
        let b = self.next_byte()?;
        if b.is_some() {
            self.pos -= 1;
            self.consumed -= 1;
        }
        Ok(b)
    }

    /// Skips to just after the next record delimiter (a ScanRange that starts inside a record).
    pub fn skip_record(&mut self) -> Result<(), SelectError> {
        while let Some(b) = self.next_byte()? {
            if b == self.cfg.record {
                break;
            }
        }
        Ok(())
    }

    fn end_field(&mut self, n: usize) {
        let text = match std::str::from_utf8(&self.bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(&self.bytes).into_owned(),
        };
        if n < self.fields.len() {
            self.fields[n] = text;
        } else {
            self.fields.push(text);
        }
        self.bytes.clear();
    }

    /// The next record's fields, or None at the end of the input.
    pub fn next_record(&mut self) -> Result<Option<&[String]>, SelectError> {
        let c = self.cfg.clone();
        'record: loop {
            let Some(first) = self.next_byte()? else { return Ok(None) };
            if Some(first) == c.comment {
                while let Some(b) = self.next_byte()? {
                    if b == c.record {
                        break;
                    }
                }
                continue 'record;
            }
            let mut n = 0;
            let mut b = Some(first);
            let mut in_quotes = false;
            let mut field_start = true;
            self.bytes.clear();
            loop {
                let Some(x) = b else {
                    self.end_field(n);
                    n += 1;
                    break;
                };
                if in_quotes {
                    if x == c.escape && c.escape != c.quote {
                        match self.next_byte()? {
                            Some(y) => self.bytes.push(y),
                            None => self.bytes.push(x),
                        }
                    } else if x == c.quote {
                        if c.escape == c.quote && self.peek_byte()? == Some(c.quote) {
                            self.next_byte()?;
                            self.bytes.push(c.quote);
                        } else {
                            in_quotes = false;
                        }
                    } else if x == c.record && !c.quoted_records {
                        // Without AllowQuotedRecordDelimiter a record delimiter ends the
                        // record even inside quotes.
                        self.end_field(n);
                        n += 1;
                        break;
                    } else {
                        self.bytes.push(x);
                    }
                } else if x == c.field {
                    self.end_field(n);
                    n += 1;
                    field_start = true;
                    b = self.next_byte()?;
                    continue;
                } else if x == c.record {
                    if c.record == b'\n' && self.bytes.last() == Some(&b'\r') {
                        self.bytes.pop();
                    }
                    self.end_field(n);
                    n += 1;
                    break;
                } else if x == c.quote && field_start {
                    in_quotes = true;
                } else {
                    self.bytes.push(x);
                }
                field_start = false;
                b = self.next_byte()?;
            }
            // A blank line is no record.
            if n == 1 && self.fields[0].is_empty() {
                continue 'record;
            }
            return Ok(Some(&self.fields[..n]));
        }
    }
}

pub fn read_error(e: std::io::Error) -> SelectError {
    if e.kind() == std::io::ErrorKind::InvalidData || e.kind() == std::io::ErrorKind::InvalidInput {
        SelectError::new("InvalidCompressionFormat", format!("The file is not in a supported compression format: {e}"))
    } else {
        SelectError::new("InternalError", format!("Reading the object failed: {e}"))
    }
}

/// Reads JSON records: a stream of JSON values (DOCUMENT: values may span lines; LINES: one
/// value per line — both read the same way, values separated by whitespace).
pub struct JsonReader<R: Read> {
    values: serde_json::StreamDeserializer<'static, serde_json::de::IoRead<R>, V>,
}

impl<R: Read> JsonReader<R> {
    pub fn new(input: R) -> Self {
        JsonReader { values: serde_json::Deserializer::from_reader(input).into_iter::<V>() }
    }

    pub fn next_record(&mut self) -> Result<Option<V>, SelectError> {
        match self.values.next() {
            None => Ok(None),
            Some(Ok(v)) => Ok(Some(v)),
            Some(Err(e)) if e.is_io() => Err(SelectError::new("InvalidCompressionFormat", e.to_string())),
            Some(Err(e)) => Err(SelectError::new(
                "JSONParsingError",
                format!("Encountered an error parsing the JSON file: {e}. Check the file and try again."),
            )),
        }
    }
}

/// How result rows are written (OutputSerialization).
#[derive(Debug, Clone)]
pub enum Out {
    Csv { field: String, record: String, quote: String, escape: String, always: bool },
    Json { record: String },
}

impl Out {
    /// Writes one row: (name, value) pairs in SELECT order.
    pub fn write(&self, row: &[(String, V)], out: &mut String) {
        match self {
            Out::Csv { field, record, quote, escape, always } => {
                let mut text = String::new();
                for (n, (_, v)) in row.iter().enumerate() {
                    if n > 0 {
                        out.push_str(field);
                    }
                    text.clear();
                    v.write_text(&mut text);
                    let needs = *always
                        || (!quote.is_empty()
                            && (text.contains(field.as_str())
                                || text.contains(quote.as_str())
                                || text.contains(record.as_str())
                                || text.contains('\n')
                                || text.contains('\r')));
                    if needs && !quote.is_empty() {
                        out.push_str(quote);
                        out.push_str(&text.replace(quote.as_str(), &format!("{escape}{quote}")));
                        out.push_str(quote);
                    } else {
                        out.push_str(&text);
                    }
                }
                out.push_str(record);
            }
            Out::Json { record } => {
                write_json_object(row, out);
                out.push_str(record);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn records(text: &str, cfg: CsvIn) -> Vec<Vec<String>> {
        let mut r = CsvReader::new(text.as_bytes(), cfg);
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec.to_vec());
        }
        out
    }

    fn default_csv() -> CsvIn {
        CsvIn { field: b',', record: b'\n', quote: b'"', escape: b'"', comment: Some(b'#'), quoted_records: false }
    }

    #[test]
    fn csv_fields_quotes_and_comments() {
        let got = records("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n# note\n\nlast,", default_csv());
        assert_eq!(got, vec![vec!["a", "b"], vec!["x, y", "say \"hi\""], vec!["last", ""]]);
    }

    #[test]
    fn quoted_record_delimiters_only_when_allowed() {
        let text = "\"a\nb\",c\nd,e\n";
        assert_eq!(
            records(text, CsvIn { quoted_records: true, ..default_csv() }),
            vec![vec!["a\nb", "c"], vec!["d", "e"]]
        );
        assert_eq!(records(text, default_csv()).len(), 3);
    }

    #[test]
    fn csv_output_quotes_as_needed() {
        let out =
            Out::Csv { field: ",".into(), record: "\n".into(), quote: "\"".into(), escape: "\"".into(), always: false };
        let mut s = String::new();
        out.write(
            &[("a".into(), V::Str("x,y".into())), ("b".into(), V::Str("say \"hi\"".into())), ("c".into(), V::Int(3))],
            &mut s,
        );
        assert_eq!(s, "\"x,y\",\"say \"\"hi\"\"\",3\n");
    }

    #[test]
    fn json_values_across_lines() {
        let mut r = JsonReader::new(&b"{\"a\":\n1} {\"a\":2}\n[3]"[..]);
        let mut n = 0;
        while r.next_record().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
        assert_eq!(JsonReader::new(&b"{\"a\":"[..]).next_record().unwrap_err().code, "JSONParsingError");
    }
}
