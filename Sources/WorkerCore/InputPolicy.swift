import Foundation
import InputDownload

/// Which locations a front end's requests may name as their `url` (or `cloudpickle`) input, and
/// how `http(s)` ones are downloaded.
///
/// Each front end gives its own to the ``RequestExecutor`` with every request: one whose producers
/// are local (the spool, `run`) may read any local file the worker can; one that takes requests
/// from the network (HTTP, Redis) may read local files only under the folders given with
/// `--url-root`, so a caller cannot read the worker's files. Every front end downloads `http://`
/// and `https://` URLs under the same ``DownloadRules``.
public struct InputPolicy: Sendable, Equatable {
    /// Which local paths and `file://` URLs may be read.
    public enum LocalFiles: Sendable, Equatable {
        /// Any the worker can read.
        case anywhere
        /// Only those inside these folders (absolute, with symbolic links resolved); none when empty.
        case under([String])
    }

    /// Which local paths and `file://` URLs may be read.
    public var localFiles: LocalFiles
    /// How `http(s)` URLs are downloaded.
    public var download: DownloadRules

    /// A policy from its parts.
    public init(localFiles: LocalFiles, download: DownloadRules) {
        self.localFiles = localFiles
        self.download = download
    }

    /// The policy for requests from local producers (the spool, `run`): any local file.
    public static func localProducers(download: DownloadRules) -> InputPolicy {
        InputPolicy(localFiles: .anywhere, download: download)
    }

    /// The policy for requests from the network (HTTP, Redis): local files only inside `roots`.
    ///
    /// - Throws: ``InputPolicyError`` when a root is not a folder the worker can see.
    public static func networkProducers(roots: [String], download: DownloadRules) throws(InputPolicyError)
        -> InputPolicy
    {
        var resolved: [String] = []
        for root in roots {
            var isFolder: ObjCBool = false
            guard let real = LocalPath.resolved(root),
                FileManager.default.fileExists(atPath: real, isDirectory: &isFolder),
                isFolder.boolValue
            else {
                throw InputPolicyError(reason: "--url-root \(root) is not a folder")
            }
            resolved.append(real)
        }
        return InputPolicy(localFiles: .under(resolved), download: download)
    }

    /// The path to read for the local `path`: resolved when the policy confines local files, so
    /// that what is read is what was checked.
    ///
    /// - Returns: the path, or why it may not be read. A path that does not exist inside a root
    ///   is returned as it is (reading it then says it does not exist); outside, it is refused
    ///   like any other, so a caller learns nothing of what exists there.
    func localPath(_ path: String) -> Result<String, InputRefusal> {
        guard case .under(let roots) = localFiles else { return .success(path) }
        guard !roots.isEmpty else {
            return .failure(
                InputRefusal(
                    "is refused: local paths and file:// URLs are not read for requests from the network (HTTP, "
                        + "Redis); give an http(s) URL, or serve a folder of inputs with --url-root DIR"))
        }
        let real = LocalPath.resolved(path)
        guard roots.contains(where: { LocalPath.isInside(real ?? LocalPath.standardized(path), folder: $0) }) else {
            return .failure(
                InputRefusal(
                    "is outside every --url-root (\(roots.joined(separator: ", "))): local paths and file:// URLs "
                        + "are read for requests from the network (HTTP, Redis) only inside one"))
        }
        return .success(real ?? path)
    }
}

/// Why a policy refuses a local input, as the end of a sentence about it.
struct InputRefusal: Error {
    let reason: String

    init(_ reason: String) {
        self.reason = reason
    }
}

/// A policy that cannot be made: a `--url-root` that is not a folder.
public struct InputPolicyError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, naming the option.
    public var reason: String

    public var description: String { reason }
}
