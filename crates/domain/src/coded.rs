//! Every error a user can see carries a stable code plus a message in Chinese and English.

/// A user-facing error: a stable machine code (`SNAKE_UPPER`, never renamed once published)
/// and human messages in zh-CN (the default language) and English.
pub trait Coded {
    /// Stable code, e.g. `ID_CHECK_CHAR`.
    fn code(&self) -> &'static str;
    /// Message in Simplified Chinese.
    fn message_zh(&self) -> String;
    /// Message in English.
    fn message_en(&self) -> String;
}
