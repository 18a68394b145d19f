using Microsoft.Data.Sqlite;

namespace Snapfn.Platform;

/// <summary>One line of the invocation log. <see cref="Error"/> is null when the invocation succeeded.</summary>
public sealed record InvocationLogEntry
{
    public long Id { get; init; }
    /// <summary>The invocation's id (<see cref="Platform.InvocationId"/>); null for entries from before ids existed.</summary>
    public string? InvocationId { get; init; }
    public required string Function { get; init; }
    public required string Mode { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public string? Error { get; init; }
    public required long InputBytes { get; init; }
    public required long OutputBytes { get; init; }
    public double? RestoreMs { get; init; }
    public double? ExecuteMs { get; init; }
    public required double TotalMs { get; init; }

    public bool Succeeded => Error is null;
}

/// <summary>
/// Every invocation, appended to the registry database as it finishes. One connection, kept open and used under
/// a lock: SQLite has one writer at a time anyway, and opening a connection per entry would cost more than the
/// insert (a few tens of microseconds with synchronous=NORMAL).
/// </summary>
public sealed class InvocationLog : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _insert;
    private readonly Lock _lock = new();
    private readonly int _maxErrorBytes;

    /// <param name="maxErrorBytes">The most of an error's text kept (UTF-8 bytes); the rest is counted, not stored.</param>
    public InvocationLog(RegistryDatabase database, int maxErrorBytes = ErrorText.DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxErrorBytes, 1);
        _maxErrorBytes = maxErrorBytes;
        _connection = database.OpenForLog();
        _insert = _connection.CreateCommand();
        _insert.CommandText = """
            INSERT INTO invocations (invocation_id, function, mode, started_at, outcome, error, input_bytes, output_bytes, restore_ms, execute_ms, total_ms)
            VALUES ($invocation_id, $function, $mode, $started_at, $outcome, $error, $input_bytes, $output_bytes, $restore_ms, $execute_ms, $total_ms)
            RETURNING id
            """;
        foreach (var name in new[] { "$invocation_id", "$function", "$mode", "$started_at", "$outcome", "$error", "$input_bytes", "$output_bytes", "$restore_ms", "$execute_ms", "$total_ms" })
            _insert.Parameters.Add(new SqliteParameter { ParameterName = name });
        _insert.Prepare();
    }

    /// <summary>Appends <paramref name="entry"/> (committed when this returns) and gives back its id.</summary>
    public long Append(InvocationLogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            var p = _insert.Parameters;
            p["$invocation_id"].Value = (object?)entry.InvocationId ?? DBNull.Value;
            p["$function"].Value = entry.Function;
            p["$mode"].Value = entry.Mode;
            p["$started_at"].Value = FunctionRegistry.Format(entry.StartedAt);
            p["$outcome"].Value = entry.Succeeded ? "ok" : "error";
            p["$error"].Value = entry.Error is { } error ? ErrorText.Bound(error, _maxErrorBytes) : DBNull.Value;
            p["$input_bytes"].Value = entry.InputBytes;
            p["$output_bytes"].Value = entry.OutputBytes;
            p["$restore_ms"].Value = (object?)entry.RestoreMs ?? DBNull.Value;
            p["$execute_ms"].Value = (object?)entry.ExecuteMs ?? DBNull.Value;
            p["$total_ms"].Value = entry.TotalMs;
            return (long)_insert.ExecuteScalar()!;
        }
    }

    /// <summary>The latest entries, newest first, of one function or of all.</summary>
    public IReadOnlyList<InvocationLogEntry> Recent(string? function, int limit)
    {
        lock (_lock)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                SELECT id, function, mode, started_at, error, input_bytes, output_bytes, restore_ms, execute_ms, total_ms, invocation_id
                FROM invocations WHERE $function IS NULL OR function = $function ORDER BY id DESC LIMIT $limit
                """;
            command.Parameters.AddWithValue("$function", (object?)function ?? DBNull.Value);
            command.Parameters.AddWithValue("$limit", Math.Clamp(limit, 1, 10_000));
            using var reader = command.ExecuteReader();
            var entries = new List<InvocationLogEntry>();
            while (reader.Read())
            {
                entries.Add(new InvocationLogEntry
                {
                    Id = reader.GetInt64(0),
                    Function = reader.GetString(1),
                    Mode = reader.GetString(2),
                    StartedAt = FunctionRegistry.Parse(reader.GetString(3)),
                    Error = reader.IsDBNull(4) ? null : reader.GetString(4),
                    InputBytes = reader.GetInt64(5),
                    OutputBytes = reader.GetInt64(6),
                    RestoreMs = reader.IsDBNull(7) ? null : reader.GetDouble(7),
                    ExecuteMs = reader.IsDBNull(8) ? null : reader.GetDouble(8),
                    TotalMs = reader.GetDouble(9),
                    InvocationId = reader.IsDBNull(10) ? null : reader.GetString(10),
                });
            }
            return entries;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _insert.Dispose();
            _connection.Dispose();
        }
    }
}
