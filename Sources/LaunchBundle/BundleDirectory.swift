import Foundation

/// A bundle on disk: a folder holding `bundle.json` and `artifact`.
///
/// `artifact` is exactly the bytes the Launch client uploads (the cloudpickle bytes, or the zip
/// of code folders), so the client's upload and POST body saved as these two files form a
/// bundle with no conversion.
public struct BundleDirectory: Sendable {
    /// The bundle folder.
    public var folder: URL
    /// Its parsed, checked `bundle.json`.
    public var metadata: BundleMetadata

    /// The metadata file's name inside the folder.
    public static let metadataName = "bundle.json"
    /// The artifact file's name inside the folder.
    public static let artifactName = "artifact"

    /// The artifact file.
    public var artifact: URL { folder.appending(path: Self.artifactName) }

    /// Opens and checks the bundle folder at `path`.
    ///
    /// - Throws: ``BundleError`` when the folder, `bundle.json` or `artifact` is missing, or a
    ///   field of `bundle.json` is missing or wrong.
    public init(path: String) throws(BundleError) {
        let folder = URL(filePath: path, directoryHint: .isDirectory).standardizedFileURL
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder) else {
            throw BundleError(.missingFile, bundle: path, reason: "no such file or folder")
        }
        guard isFolder.boolValue else {
            throw BundleError(
                .missingFile, bundle: path, reason: "is not a bundle folder (holding bundle.json and artifact)")
        }
        let metadataFile = folder.appending(path: Self.metadataName)
        guard let json = FileManager.default.contents(atPath: metadataFile.path) else {
            throw BundleError(.missingFile, bundle: path, reason: "has no readable \(Self.metadataName)")
        }
        let metadata = try BundleMetadata(json: json, bundle: path)
        guard FileManager.default.isReadableFile(atPath: folder.appending(path: Self.artifactName).path) else {
            throw BundleError(.missingFile, bundle: path, reason: "has no readable \(Self.artifactName)")
        }
        self.folder = folder
        self.metadata = metadata
    }
}
