import ArgumentParser
import BundleArchive
import Foundation
import LaunchBundle

/// `launch-worker pack`: a bundle folder into one `.bundle` file.
struct PackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Pack a bundle folder into one .bundle file.",
        discussion: """
            A .bundle file is a tar stream compressed with zstd, holding SHA256SUMS (the SHA-256 \
            of the other entries, first), bundle.json and artifact. Packing and unpacking stream: \
            memory stays flat whatever the artifact's size. Python writes the same format with \
            launch_worker.pack_bundle. Every command that takes a bundle takes a .bundle file or \
            its URL; it is unpacked once into the cache (launch-worker cache --help).

            Example:
              launch-worker pack sample-bundles/dist/arithmetic -o arithmetic.bundle
            """
    )

    @Argument(help: ArgumentHelp("The bundle folder, holding bundle.json and artifact.", valueName: "dir"))
    var folder: String

    @Option(
        name: [.short, .customLong("output")],
        help: ArgumentHelp("The .bundle file to write (default: ./<folder name>.bundle).", valueName: "file"))
    var output: String?

    @Option(help: "zstd's compression level, 1 (fastest) to 19 (smallest).")
    var level: Int32 = 3

    func validate() throws {
        guard (1...19).contains(level) else { throw ValidationError("--level must be between 1 and 19") }
    }

    func run() throws {
        let directory: BundleDirectory
        do {
            directory = try BundleDirectory(path: folder)
        } catch {
            throw CLIError(message: error.description)
        }
        let target = URL(filePath: output ?? "\(directory.folder.lastPathComponent).bundle")
        do {
            let packed = try BundlePacker.pack(directory, to: target, level: level)
            print(
                """
                packed \(directory.metadata.bundleName) into \(target.path): \
                \(ByteCount.format(packed.compressedSize)) (artifact \(ByteCount.format(packed.artifactSize))), \
                key \(packed.checksums.key)
                """)
        } catch let error as ArchiveError {
            throw CLIError(message: error.description)
        }
    }
}
