import Foundation
import PythonBridge
import TestSupport
import Testing

@Suite("Finding the Python environment")
struct PythonEnvironmentTests {
    @Test("an explicit folder wins over the variable and the checkout")
    func explicitWins() throws {
        let found = try PythonEnvironment.locate(
            explicit: Checkout.venv.path, environment: [PythonEnvironment.variable: "/nowhere"],
            executablePath: "/usr/bin/true")
        #expect(found.root.path == Checkout.venv.path)
        #expect(found.source == .option)
    }

    @Test("the variable names the environment when no option does")
    func variableIsUsed() throws {
        let found = try PythonEnvironment.locate(
            explicit: nil, environment: [PythonEnvironment.variable: Checkout.venv.path],
            executablePath: "/usr/bin/true")
        #expect(found.source == .environmentVariable(PythonEnvironment.variable))
    }

    @Test("otherwise the .venv in a folder above the executable is used")
    func besideExecutable() throws {
        let executable = Checkout.root.appending(path: ".build/debug/launch-worker").path
        let found = try PythonEnvironment.locate(explicit: nil, environment: [:], executablePath: executable)
        #expect(found.root.path == Checkout.venv.path)
        #expect(found.source == .besideExecutable)
    }

    @Test("no environment anywhere says how to make one")
    func noneFound() throws {
        let error = #expect(throws: PythonBridgeError.self) {
            try PythonEnvironment.locate(explicit: nil, environment: [:], executablePath: "/usr/bin/true")
        }
        #expect(error?.code == .environmentNotFound)
        #expect(error?.message.contains("scripts/setup") == true)
    }

    @Test("a folder that is not a venv is refused")
    func notAVenv() throws {
        let folder = try Checkout.temporaryFolder("not-venv")
        let error = #expect(throws: PythonBridgeError.self) {
            try PythonEnvironment.locate(explicit: folder.path, environment: [:], executablePath: "/usr/bin/true")
        }
        #expect(error?.message.contains("pyvenv.cfg") == true)
    }

    @Test("a venv of another Python minor version is refused")
    func otherVersion() throws {
        let folder = try Checkout.temporaryFolder("old-venv")
        try "home = /usr/bin\nversion = 3.9.2\n".write(
            to: folder.appending(path: "pyvenv.cfg"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: folder.appending(path: "bin"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: folder.appending(path: "bin/python"), withDestinationURL: URL(filePath: "/usr/bin/python3"))
        let error = #expect(throws: PythonBridgeError.self) {
            try PythonEnvironment.locate(explicit: folder.path, environment: [:], executablePath: "/usr/bin/true")
        }
        #expect(error?.code == .environmentMismatch)
        #expect(error?.message.contains("3.9.2") == true)
    }
}
