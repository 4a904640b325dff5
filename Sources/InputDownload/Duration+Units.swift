extension Duration {
    /// The duration in whole milliseconds.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// The duration in seconds, with its fraction.
    public var seconds: Double {
        // Divided, not multiplied by 1e-18, which no Double holds exactly: 0.3 s stays 0.3.
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// `2 s`, `0.5 s`.
    public var formattedSeconds: String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}
