/// Hides the passwords of URLs that a log line or an error quotes: a bundle's location, a
/// package index, a broker, a request's input, as the user gave them (`https://user:TOKEN@host`).
public enum URLPasswords {
    /// `text` with the password of every URL's user-info in it shown as `***`.
    ///
    /// A URL's user-info is what comes between `://` and the last `@` before the next `/`, `#`
    /// or white space, and its password what follows the first `:` there. Text that is not a
    /// well-formed URL is read the same way, so a password with characters a URL may not hold
    /// is hidden too; where that reading is unsure (an `@` in a query right after the host), it
    /// hides too much, never too little.
    public static func hidden(in text: String) -> String {
        var shown = ""
        var rest = text[...]
        while let scheme = rest.firstRange(of: "://") {
            shown += rest[..<scheme.upperBound]
            let afterScheme = rest[scheme.upperBound...]
            let authority = afterScheme.prefix { $0 != "/" && $0 != "#" && !$0.isWhitespace }
            guard let at = authority.lastIndex(of: "@") else {
                rest = afterScheme
                continue
            }
            if let colon = authority[..<at].firstIndex(of: ":") {
                shown += afterScheme[...colon] + "***"
            } else {
                shown += afterScheme[..<at]
            }
            // On from the `@`: another URL may start before the next `/` (a comma-separated list).
            rest = afterScheme[at...]
        }
        return shown + rest
    }
}
