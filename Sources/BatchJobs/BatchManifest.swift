import Foundation

/// What a batch's output folder was made for, kept in `batch.json`: a resume checks that the
/// input, the bundle and the options that shape the results are the same.
public struct BatchManifest: Sendable, Codable, Equatable {
    /// The input: its path, format and, unless it is standard input, its digest.
    public struct Input: Sendable, Codable, Equatable {
        public var path: String
        public var format: BatchInputFile.Format
        /// Nil for standard input, which cannot be checked.
        public var sha256: String?
        public var bytes: Int?

        /// The input's description.
        public init(path: String, format: BatchInputFile.Format, digest: FileDigest?) {
            self.path = path
            self.format = format
            self.sha256 = digest?.sha256
            self.bytes = digest?.bytes
        }
    }

    /// The bundle: its name, where it was, and the digest of its `bundle.json` and artifact.
    public struct Bundle: Sendable, Codable, Equatable {
        public var name: String
        public var location: String
        public var sha256: String

        /// The bundle's description.
        public init(name: String, location: String, sha256: String) {
            self.name = name
            self.location = location
            self.sha256 = sha256
        }
    }

    public var input: Input
    public var bundle: Bundle
    public var returnPickled: Bool
    /// The queue the inputs were sent to, nil when they ran in this process.
    public var queue: String?
    /// The batch's own id, made with its folder: the queue's task ids start with it, so a rerun
    /// finds the tasks an earlier run submitted.
    public var batchID: String?

    enum CodingKeys: String, CodingKey {
        case input, bundle, queue
        case returnPickled = "return_pickled"
        case batchID = "batch_id"
    }

    /// A manifest from its parts.
    public init(input: Input, bundle: Bundle, returnPickled: Bool, queue: String?) {
        self.input = input
        self.bundle = bundle
        self.returnPickled = returnPickled
        self.queue = queue
    }

    /// Why a batch made for `self` cannot go on as `other`, or nil when it can: the input's
    /// contents, its format, the bundle's contents, `--return-pickled` and the queue must match
    /// (paths may differ: a moved file with the same bytes is the same input; the batch's id is
    /// the folder's own).
    public func mismatch(with other: BatchManifest) -> String? {
        if input.format != other.input.format {
            return "the input was \(input.format.rawValue), now it is \(other.input.format.rawValue)"
        }
        if (input.sha256 == nil) != (other.input.sha256 == nil) {
            return "the input was \(input.path), now it is \(other.input.path)"
        }
        if let old = input.sha256, let new = other.input.sha256, old != new {
            return "the input \(other.input.path) changed (its SHA-256 was \(old.prefix(12)), now \(new.prefix(12)))"
        }
        if bundle.sha256 != other.bundle.sha256 {
            return "the bundle changed (\(bundle.location) had SHA-256 \(bundle.sha256.prefix(12)), "
                + "\(other.bundle.location) has \(other.bundle.sha256.prefix(12)))"
        }
        if returnPickled != other.returnPickled {
            return returnPickled ? "it ran with --return-pickled, now without" : "it ran without --return-pickled"
        }
        if queue != other.queue {
            return "it ran \(queue.map { "through \($0)" } ?? "in this process"), now "
                + (other.queue.map { "through \($0)" } ?? "in this process")
        }
        return nil
    }
}
