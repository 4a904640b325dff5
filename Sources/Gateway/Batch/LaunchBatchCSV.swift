import Foundation

/// The Launch client's batch input file (`make_batch_file.py`), made into the JSON Lines that
/// `launch-worker batch` reads: a header `id,url` or `id,args`, then one row per input, where
/// `args` is `json.dumps(args)` written by Python's `csv` module with `'` as its quote character
/// (`0,'{"x": 1, "y": 2}'`; a `'` inside doubled), and urls with the usual `"`.
enum LaunchBatchCSV {
    /// One JSON Lines request per row: `{"id": "<id>", "args": {...}}` or `{"id": ..., "url": ...}`,
    /// with `return_pickled`.
    ///
    /// - Returns: the JSON Lines text and the number of inputs.
    /// - Throws: ``GatewayRefusal`` 400 naming the line that cannot be read.
    static func jsonLines(fromCSV text: String, returnPickled: Bool) throws(GatewayRefusal) -> (
        text: String, count: Int
    ) {
        let header = text.prefix { $0 != "\n" && $0 != "\r\n" && $0 != "\r" }
        var rows = records(text, quote: header.contains("args") ? "'" : "\"")
        guard let columns = rows.first?.map({ $0.trimmingCharacters(in: .whitespaces) }),
            let idColumn = columns.firstIndex(of: "id"),
            let inputColumn = columns.firstIndex(where: { $0 == "args" || $0 == "url" })
        else {
            throw GatewayRefusal(
                .badRequest, "the batch file's header must be id,url or id,args (as make_batch_file writes)")
        }
        rows.removeFirst()
        var lines = ""
        var count = 0
        for (index, row) in rows.enumerated() where !(row.count == 1 && row[0].isEmpty) {
            guard row.count > max(idColumn, inputColumn) else {
                throw GatewayRefusal(
                    .badRequest, "the batch file's line \(index + 2) has \(row.count) fields, not \(columns.count)")
            }
            let input: String
            if columns[inputColumn] == "args" {
                guard let data = row[inputColumn].data(using: .utf8),
                    (try? JSONSerialization.jsonObject(with: data)) is [String: Any]
                else {
                    throw GatewayRefusal(.badRequest, "the batch file's line \(index + 2): args is not a JSON object")
                }
                input = "\"args\":\(row[inputColumn])"
            } else {
                input = "\"url\":\(quoted(row[inputColumn]))"
            }
            lines += "{\"id\":\(quoted(row[idColumn])),\(input),\"return_pickled\":\(returnPickled)}\n"
            count += 1
        }
        return (lines, count)
    }

    /// The file's records and fields: `,` between fields, `quote` around a field that holds
    /// one of `,`, `quote` or a line break, the quote doubled inside, `\r\n` or `\n` between
    /// records.
    static func records(_ text: String, quote: Character) -> [[String]] {
        var records: [[String]] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == quote {
                    if characters.first == quote {
                        field.append(quote)
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == quote {
                quoted = true
            } else if character == "," {
                fields.append(field)
                field = ""
            } else if character == "\n" || character == "\r\n" || character == "\r" {
                fields.append(field)
                records.append(fields)
                (fields, field) = ([], "")
            } else {
                field.append(character)
            }
        }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            records.append(fields)
        }
        return records
    }

    private static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
