//! Server-sent events read from a stream of text, as the HTTP transport's
//! stream delivers it: in chunks cut anywhere (within a line, between the
//! `\r` and `\n` of a line break). The rules are the HTML standard's event
//! stream parsing, for the fields tabwire uses: `data` (lines joined with
//! `\n`), `event` (the kind), comments (`:`) ignored, an event dispatched at
//! a blank line, one without data dropped.

/// One event: its kind (`None` for a plain message) and its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerEvent {
    pub kind: Option<String>,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct EventReader {
    /// Text after the last complete line.
    partial: String,
    /// The last chunk ended in `\r`: a `\n` starting the next is that same break.
    after_cr: bool,
    kind: Option<String>,
    data: String,
    has_data: bool,
}

impl EventReader {
    /// Reads `chunk` and returns the events it completed, in order.
    pub fn push(&mut self, chunk: &str) -> Vec<ServerEvent> {
        let mut events = Vec::new();
        let mut rest = chunk;
        if self.after_cr {
            rest = rest.strip_prefix('\n').unwrap_or(rest);
            self.after_cr = false;
        }
        // Bytes and `get`: a line break is ASCII, a char boundary, and
        // slicing by index would link the panic for one that is not.
        while let Some(end) = rest.bytes().position(|byte| byte == b'\r' || byte == b'\n') {
            let (line, tail) = (
                rest.get(..end).unwrap_or_default(),
                rest.get(end..).unwrap_or_default(),
            );
            self.partial.push_str(line);
            let line = std::mem::take(&mut self.partial);
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
            rest = match tail.strip_prefix("\r\n") {
                Some(after) => after,
                None if tail == "\r" => {
                    self.after_cr = true;
                    ""
                }
                None => tail.get(1..).unwrap_or_default(),
            };
        }
        self.partial.push_str(rest);
        events
    }

    fn line(&mut self, line: &str) -> Option<ServerEvent> {
        if line.is_empty() {
            let kind = self.kind.take();
            let data = std::mem::take(&mut self.data);
            return std::mem::take(&mut self.has_data).then_some(ServerEvent { kind, data });
        }
        let (field, value) = match line.bytes().position(|byte| byte == b':') {
            Some(0) => return None,
            Some(colon) => {
                let value = line.get(colon + 1..).unwrap_or_default();
                (
                    line.get(..colon).unwrap_or_default(),
                    value.strip_prefix(' ').unwrap_or(value),
                )
            }
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.kind = Some(value.to_owned()),
            _ => {}
        }
        None
    }
}
