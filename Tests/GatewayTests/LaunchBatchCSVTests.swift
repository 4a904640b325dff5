import Foundation
import Testing

@testable import Gateway

@Suite("LaunchBatchCSV")
struct LaunchBatchCSVTests {
    @Test("args rows, as make_batch_file writes them (' quoting, '' inside, \\r\\n), become JSON Lines")
    func argsRows() throws {
        let csv = "id,args\r\n0,'{\"x\": 1, \"y\": \"it''s\"}'\r\n1,'{\"x\": 2}'\r\n"
        let (text, count) = try LaunchBatchCSV.jsonLines(fromCSV: csv, returnPickled: false)
        #expect(count == 2)
        #expect(
            text == #"{"id":"0","args":{"x": 1, "y": "it's"},"return_pickled":false}"# + "\n"
                + #"{"id":"1","args":{"x": 2},"return_pickled":false}"# + "\n")
    }

    @Test("url rows use the usual \" quoting")
    func urlRows() throws {
        let (text, count) = try LaunchBatchCSV.jsonLines(
            fromCSV: "id,url\r\n0,\"/a,b\"\r\n1,/c\r\n", returnPickled: true)
        #expect(count == 2)
        #expect(text.contains(#"{"id":"0","url":"\/a,b","return_pickled":true}"#) || text.contains(#""url":"/a,b""#))
    }

    @Test("a header without id and args or url, or args that are not an object, are refused")
    func refusals() {
        for csv in ["x,y\r\n1,2\r\n", "id,args\r\n0,'[1]'\r\n", "id,args\r\n0\r\n"] {
            #expect(throws: GatewayRefusal.self, "\(csv)") {
                try LaunchBatchCSV.jsonLines(fromCSV: csv, returnPickled: false)
            }
        }
    }
}
