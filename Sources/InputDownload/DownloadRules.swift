/// What a download of a request's url input may do: how large it may be, how long it may wait,
/// which addresses it may reach.
public struct DownloadRules: Sendable, Equatable {
    /// The most bytes an input may have; the announced size is checked first, then what arrives.
    public var maxBytes: Int
    /// How long connecting (and the TLS handshake) may take.
    public var connectTimeout: Duration
    /// How long the server may send nothing, for the response's head or between parts of its body.
    public var readTimeout: Duration
    /// Whether loopback, link-local and private addresses may be reached.
    public var allowPrivateAddresses: Bool
    /// How many redirects are followed.
    public var maxRedirects: Int

    /// The defaults: 1 GiB, 10 s to connect, 30 s without data, public addresses only, 10 redirects.
    public init(
        maxBytes: Int = 1 << 30, connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(30),
        allowPrivateAddresses: Bool = false, maxRedirects: Int = 10
    ) {
        self.maxBytes = maxBytes
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.allowPrivateAddresses = allowPrivateAddresses
        self.maxRedirects = maxRedirects
    }
}
