/// Hides the secrets of URLs that a log line or an error quotes: a bundle's location, a package
/// index, a broker, a request's input, as the user gave them (`https://user:TOKEN@host`, a
/// presigned `https://bucket.s3.amazonaws.com/key?...&X-Amz-Signature=...`).
public enum URLSecrets {
    /// `text` with the password of every URL's user-info in it, and the value of every query
    /// parameter that signs or grants access (``secretParameters``), shown as `***`.
    public static func hidden(in text: String) -> String {
        signaturesHidden(in: passwordsHidden(in: text))
    }

    /// The query parameters whose values are secrets, in lower case: presigned URLs' signatures
    /// and session tokens (S3, Google Cloud Storage, Azure's SAS, CloudFront), a Redis URL's TLS
    /// key passphrase (redis-py's `ssl_password`), and the usual names of keys and tokens. A presigned URL's other parameters (its date, its expiry) stay,
    /// so an error about an expired one can still be read.
    public static let secretParameters: Set<String> = [
        "x-amz-signature", "x-amz-security-token", "x-goog-signature", "signature", "sig", "token",
        "access_token", "key", "api_key", "apikey", "password", "secret", "ssl_password",
    ]

    /// `text` with the password of every URL's user-info shown as `***`.
    ///
    /// A URL's user-info is what comes between `://` and the last `@` before the next `/`, `#`
    /// or white space, and its password what follows the first `:` there. Text that is not a
    /// well-formed URL is read the same way, so a password with characters a URL may not hold
    /// is hidden too; where that reading is unsure (an `@` in a query right after the host), it
    /// hides too much, never too little.
    static func passwordsHidden(in text: String) -> String {
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

    /// `text` with the value of every ``secretParameters`` parameter shown as `***`: a name
    /// (any case) after a `?` or `&`, then `=`, and its value up to the next `&`, `#`, `;`, quote,
    /// closing bracket or white space.
    static func signaturesHidden(in text: String) -> String {
        var shown = ""
        var rest = text[...]
        while let separator = rest.firstIndex(where: { $0 == "?" || $0 == "&" }) {
            let afterSeparator = rest.index(after: separator)
            shown += rest[..<afterSeparator]
            rest = rest[afterSeparator...]
            let name = rest.prefix { $0 != "=" && !ends($0) && $0 != "?" }
            guard name.endIndex < rest.endIndex, rest[name.endIndex] == "=",
                secretParameters.contains(name.lowercased())
            else { continue }
            let value = rest[rest.index(after: name.endIndex)...].prefix { !ends($0) }
            shown += rest[...name.endIndex] + (value.isEmpty ? "" : "***")
            rest = rest[value.endIndex...]
        }
        return shown + rest
    }

    /// Whether `character` ends a query parameter's name or value.
    private static func ends(_ character: Character) -> Bool {
        character == "&" || character == "#" || character.isWhitespace || "\"'>)];".contains(character)
    }
}
