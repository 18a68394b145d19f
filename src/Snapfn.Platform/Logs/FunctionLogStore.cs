using Microsoft.Data.Sqlite;

namespace Snapfn.Platform.Logs;

/// <summary>
/// Functions' output lines in the registry database (table function_logs), each under the invocation that wrote
/// it; read newest first in pages, or after a given line (to follow). Each function keeps at most
/// <see cref="FunctionLogLimits.MaxBytesPerFunction"/>, its oldest lines deleted first, counted in function_log_usage
/// in the same transaction as the lines, so that a CLI writing beside the daemon keeps the count right. One
/// connection under a lock, as the invocation log.
/// </summary>
public sealed class FunctionLogStore : IDisposable
{
    /// <summary>The most lines one page may ask for.</summary>
    public const int MaxPage = 1000;

    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;

    public FunctionLogStore(RegistryDatabase database, FunctionLogLimits? limits = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        Limits = limits ?? new FunctionLogLimits();
        Limits.Validate();
        _time = time ?? TimeProvider.System;
        Feed = new FunctionLogFeed(Limits);
        _connection = database.OpenForLog();
    }

    public FunctionLogLimits Limits { get; }

    /// <summary>Where stored lines go next: the clients following logs.</summary>
    public FunctionLogFeed Feed { get; }

    /// <summary>A capture for one invocation's (or snapshot's) output, stored when it completes.</summary>
    public FunctionLogCapture Capture(string function, string invocationId, FunctionLogPhase phase = FunctionLogPhase.Invoke)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(invocationId);
        return new FunctionLogCapture(this, function, invocationId, phase, _time);
    }

    /// <summary>Stores <paramref name="lines"/> (one transaction), trims their function to its bound, and publishes
    /// them to followers; returns them with their ids.</summary>
    public IReadOnlyList<FunctionLogLine> Append(IReadOnlyList<FunctionLogLine> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var stored = new List<FunctionLogLine>(lines.Count);
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            using var insert = _connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO function_logs (function, invocation_id, written_at, phase, stream, path, line)
                VALUES ($function, $invocation_id, $written_at, $phase, $stream, $path, $line) RETURNING id
                """;
            foreach (var name in new[] { "$function", "$invocation_id", "$written_at", "$phase", "$stream", "$path", "$line" })
                insert.Parameters.Add(new SqliteParameter { ParameterName = name });
            var added = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var line in lines)
            {
                var p = insert.Parameters;
                p["$function"].Value = line.Function;
                p["$invocation_id"].Value = line.InvocationId;
                p["$written_at"].Value = FunctionRegistry.Format(line.WrittenAt);
                p["$phase"].Value = FunctionLogLine.PhaseName(line.Phase);
                p["$stream"].Value = line.Stream;
                p["$path"].Value = line.Path;
                p["$line"].Value = line.Bytes;
                stored.Add(line with { Id = (long)insert.ExecuteScalar()! });
                added[line.Function] = added.GetValueOrDefault(line.Function) + Cost(line.Bytes.Length);
            }
            foreach (var (function, bytes) in added)
                Trim(function, bytes, transaction);
            transaction.Commit();
            Feed.Publish(stored);
        }
        return stored;
    }

    /// <summary>A function's lines newest first: those before line <paramref name="before"/> (all when null), at most
    /// <paramref name="limit"/> (1 to <see cref="MaxPage"/>).</summary>
    public IReadOnlyList<FunctionLogLine> Page(string function, long? before, int limit) =>
        Read(function, "($before IS NULL OR id < $before) ORDER BY id DESC", before, limit);

    /// <summary>A function's lines after line <paramref name="after"/>, oldest first, at most <paramref name="limit"/>.</summary>
    public IReadOnlyList<FunctionLogLine> After(string function, long after, int limit) =>
        Read(function, "id > $before ORDER BY id ASC", after, limit);

    /// <summary>Deletes every line of <paramref name="function"/> (it was removed).</summary>
    public void Delete(string function)
    {
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            using var command = _connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM function_logs WHERE function = $function; DELETE FROM function_log_usage WHERE function = $function;";
            command.Parameters.AddWithValue("$function", function);
            command.ExecuteNonQuery();
            transaction.Commit();
        }
    }

    /// <summary>What a stored line counts against its function's bound.</summary>
    public static long Cost(int bytes) => bytes + FunctionLogLimits.RowOverhead;

    /// <summary>Adds <paramref name="added"/> to the function's count and, past the bound, deletes its oldest lines
    /// until it fits again.</summary>
    private void Trim(string function, long added, SqliteTransaction transaction)
    {
        using var usage = _connection.CreateCommand();
        usage.Transaction = transaction;
        usage.CommandText = """
            INSERT INTO function_log_usage (function, bytes) VALUES ($function, $added)
            ON CONFLICT (function) DO UPDATE SET bytes = bytes + $added RETURNING bytes
            """;
        usage.Parameters.AddWithValue("$function", function);
        usage.Parameters.AddWithValue("$added", added);
        var total = (long)usage.ExecuteScalar()!;
        var excess = total - Limits.MaxBytesPerFunction;
        if (excess <= 0)
            return;
        long cutoff = 0, freed = 0;
        using (var oldest = _connection.CreateCommand())
        {
            oldest.Transaction = transaction;
            oldest.CommandText = "SELECT id, length(line) FROM function_logs WHERE function = $function ORDER BY id";
            oldest.Parameters.AddWithValue("$function", function);
            using var reader = oldest.ExecuteReader();
            while (freed < excess && reader.Read())
            {
                cutoff = reader.GetInt64(0);
                freed += Cost(reader.GetInt32(1));
            }
        }
        using var delete = _connection.CreateCommand();
        delete.Transaction = transaction;
        delete.CommandText = """
            DELETE FROM function_logs WHERE function = $function AND id <= $cutoff;
            UPDATE function_log_usage SET bytes = bytes - $freed WHERE function = $function;
            """;
        delete.Parameters.AddWithValue("$function", function);
        delete.Parameters.AddWithValue("$cutoff", cutoff);
        delete.Parameters.AddWithValue("$freed", freed);
        delete.ExecuteNonQuery();
    }

    private List<FunctionLogLine> Read(string function, string where, long? cursor, int limit)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxPage);
        lock (_lock)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = $"""
                SELECT id, invocation_id, written_at, phase, stream, path, line FROM function_logs
                WHERE function = $function AND {where} LIMIT $limit
                """;
            command.Parameters.AddWithValue("$function", function);
            command.Parameters.AddWithValue("$before", (object?)cursor ?? DBNull.Value);
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            var lines = new List<FunctionLogLine>();
            while (reader.Read())
            {
                lines.Add(new FunctionLogLine
                {
                    Id = reader.GetInt64(0),
                    Function = function,
                    InvocationId = reader.GetString(1),
                    WrittenAt = FunctionRegistry.Parse(reader.GetString(2)),
                    Phase = reader.GetString(3) == "init" ? FunctionLogPhase.Init : FunctionLogPhase.Invoke,
                    Stream = reader.GetString(4),
                    Path = reader.GetString(5),
                    Bytes = (byte[])reader.GetValue(6),
                });
            }
            return lines;
        }
    }

    public void Dispose()
    {
        lock (_lock)
            _connection.Dispose();
    }
}
