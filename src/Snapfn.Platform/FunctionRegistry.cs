using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Snapfn.Platform;

/// <summary>
/// The registered functions (built-in and user), their snapshots and recordings, in <see cref="RegistryDatabase"/>.
/// Each change is one transaction; files it names are written (and flushed) before the row that names them.
/// </summary>
public sealed class FunctionRegistry
{
    private const string BuiltIn = "builtin";
    private const string User = "user";
    private readonly RegistryDatabase _database;

    public FunctionRegistry(RegistryDatabase database)
    {
        _database = database;
    }

    /// <summary>Makes the built-in rows match the catalog: new ELFs are added, rebuilt ones updated, vanished ones
    /// removed. A user function that already holds a built-in's name keeps it. Writes nothing when all match.</summary>
    public void SyncBuiltIns(FunctionCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var wanted = catalog.List().ToDictionary(
            f => f.Name, f => (ElfPath: f.CodePath, Sha256: GuestPrograms.CodeSha256(f), f.Description, f.IsTestGuest), StringComparer.Ordinal);
        using var connection = _database.OpenDurable();
        var existing = new Dictionary<string, (string ElfPath, string Sha256, string Description, bool IsTestGuest)>(StringComparer.Ordinal);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        using (var select = Command(connection, null, "SELECT name, kind, elf_path, elf_sha256, description, is_test FROM functions"))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                if (reader.GetString(1) == BuiltIn)
                    existing[reader.GetString(0)] = (reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetBoolean(5));
                else
                    taken.Add(reader.GetString(0));
            }
        }
        var changed = wanted.Where(w => !taken.Contains(w.Key) && (!existing.TryGetValue(w.Key, out var e) || e != w.Value)).ToList();
        var vanished = existing.Keys.Where(name => !wanted.ContainsKey(name)).ToList();
        if (changed.Count == 0 && vanished.Count == 0)
            return;

        using var transaction = connection.BeginTransaction();
        var now = Now();
        foreach (var (name, function) in changed)
        {
            using var upsert = Command(connection, transaction, """
                INSERT INTO functions (name, kind, elf_path, elf_sha256, memory_mib, description, is_test, registered_at)
                VALUES ($name, 'builtin', $elf_path, $elf_sha256, $memory_mib, $description, $is_test, $now)
                ON CONFLICT (name) DO UPDATE SET elf_path = excluded.elf_path, elf_sha256 = excluded.elf_sha256,
                    description = excluded.description, is_test = excluded.is_test
                WHERE functions.kind = 'builtin'
                """);
            upsert.Parameters.AddWithValue("$name", name);
            upsert.Parameters.AddWithValue("$elf_path", function.ElfPath);
            upsert.Parameters.AddWithValue("$elf_sha256", function.Sha256);
            upsert.Parameters.AddWithValue("$memory_mib", MemorySize.DefaultMiB);
            upsert.Parameters.AddWithValue("$description", function.Description);
            upsert.Parameters.AddWithValue("$is_test", function.IsTestGuest);
            upsert.Parameters.AddWithValue("$now", now);
            upsert.ExecuteNonQuery();
        }
        foreach (var name in vanished)
        {
            using var delete = Command(connection, transaction, "DELETE FROM functions WHERE name = $name AND kind = 'builtin'");
            delete.Parameters.AddWithValue("$name", name);
            delete.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    public IReadOnlyList<RegisteredFunction> List()
    {
        using var connection = _database.OpenDurable();
        using var command = Command(connection, null, SelectFunctions + " ORDER BY kind = 'builtin', is_test, name");
        return ReadFunctions(connection, command);
    }

    public RegisteredFunction? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!FunctionName.IsValid(name))
            return null;
        using var connection = _database.OpenDurable();
        using var command = Command(connection, null, SelectFunctions + " WHERE name = $name");
        command.Parameters.AddWithValue("$name", name);
        return ReadFunctions(connection, command).SingleOrDefault();
    }

    /// <summary>Just what running the function needs (one row, no snapshot or recordings): the invocation path.</summary>
    public RunnableFunction? FindRunnable(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!FunctionName.IsValid(name))
            return null;
        using var connection = _database.OpenDurable();
        using var command = Command(connection, null, "SELECT elf_path, description, is_test, memory_mib FROM functions WHERE name = $name");
        command.Parameters.AddWithValue("$name", name);
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new RunnableFunction(new FunctionInfo(name, reader.GetString(0), reader.GetString(1), reader.GetBoolean(2)), reader.GetInt32(3))
            : null;
    }

    /// <summary>Adds or replaces a user function whose ELF is already stored at <paramref name="elfPath"/>. A new
    /// ELF makes the old snapshot and recordings useless, so their rows go in the same transaction.</summary>
    public RegisteredFunction PutUser(string name, string elfPath, string elfSha256, int memoryMib, string description)
    {
        using var connection = _database.OpenDurable();
        using var transaction = connection.BeginTransaction();
        var kind = KindOf(connection, transaction, name);
        if (kind == BuiltIn)
            throw new FunctionConflictException($"'{name}' is a built-in function: choose another name for yours");
        using (var forget = Command(connection, transaction, """
            DELETE FROM snapshots WHERE function = $name AND elf_sha256 <> $sha;
            DELETE FROM recordings WHERE function = $name AND NOT EXISTS (SELECT 1 FROM snapshots WHERE function = $name);
            """))
        {
            forget.Parameters.AddWithValue("$name", name);
            forget.Parameters.AddWithValue("$sha", elfSha256);
            forget.ExecuteNonQuery();
        }
        using (var upsert = Command(connection, transaction, """
            INSERT INTO functions (name, kind, elf_path, elf_sha256, memory_mib, description, is_test, registered_at)
            VALUES ($name, 'user', $elf_path, $elf_sha256, $memory_mib, $description, 0, $now)
            ON CONFLICT (name) DO UPDATE SET elf_path = excluded.elf_path, elf_sha256 = excluded.elf_sha256,
                memory_mib = excluded.memory_mib, description = excluded.description, registered_at = excluded.registered_at
            """))
        {
            upsert.Parameters.AddWithValue("$name", name);
            upsert.Parameters.AddWithValue("$elf_path", elfPath);
            upsert.Parameters.AddWithValue("$elf_sha256", elfSha256);
            upsert.Parameters.AddWithValue("$memory_mib", memoryMib);
            upsert.Parameters.AddWithValue("$description", description);
            upsert.Parameters.AddWithValue("$now", Now());
            upsert.ExecuteNonQuery();
        }
        transaction.Commit();
        return Find(name)!;
    }

    /// <summary>Removes a user function (its snapshot and recording rows go with it); false when there is none.</summary>
    public bool DeleteUser(string name)
    {
        using var connection = _database.OpenDurable();
        using var transaction = connection.BeginTransaction();
        var kind = KindOf(connection, transaction, name);
        if (kind is null)
            return false;
        if (kind == BuiltIn)
            throw new FunctionConflictException($"'{name}' is a built-in function and cannot be deleted");
        using var delete = Command(connection, transaction, "DELETE FROM functions WHERE name = $name");
        delete.Parameters.AddWithValue("$name", name);
        delete.ExecuteNonQuery();
        transaction.Commit();
        return true;
    }

    /// <summary>Records the function's new snapshot; recordings of the previous one no longer apply.</summary>
    public void PutSnapshot(string name, SnapshotRecord snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        using var connection = _database.OpenDurable();
        using var transaction = connection.BeginTransaction();
        using var command = Command(connection, transaction, """
            DELETE FROM recordings WHERE function = $name AND snapshot_id <> $snapshot_id;
            INSERT OR REPLACE INTO snapshots (function, snapshot_id, elf_sha256, state_sha256, memory_file, memory_mib,
                allocated_bytes, data_pages, taken_at)
            VALUES ($name, $snapshot_id, $elf_sha256, $state_sha256, $memory_file, $memory_mib, $allocated_bytes, $data_pages, $taken_at);
            """);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$snapshot_id", snapshot.SnapshotId.ToString());
        command.Parameters.AddWithValue("$elf_sha256", snapshot.ElfSha256);
        command.Parameters.AddWithValue("$state_sha256", snapshot.StateSha256);
        command.Parameters.AddWithValue("$memory_file", snapshot.MemoryFile);
        command.Parameters.AddWithValue("$memory_mib", snapshot.MemoryMib);
        command.Parameters.AddWithValue("$allocated_bytes", snapshot.AllocatedBytes);
        command.Parameters.AddWithValue("$data_pages", snapshot.DataPages);
        command.Parameters.AddWithValue("$taken_at", Format(snapshot.TakenAt));
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    public void PutRecording(string name, RecordingRecord recording)
    {
        ArgumentNullException.ThrowIfNull(recording);
        using var connection = _database.OpenDurable();
        using var command = Command(connection, null, """
            INSERT OR REPLACE INTO recordings (function, mode, snapshot_id, path, sha256, pages, regions, file_bytes, recorded_at)
            VALUES ($name, $mode, $snapshot_id, $path, $sha256, $pages, $regions, $file_bytes, $recorded_at)
            """);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$mode", recording.Mode);
        command.Parameters.AddWithValue("$snapshot_id", recording.SnapshotId.ToString());
        command.Parameters.AddWithValue("$path", recording.Path);
        command.Parameters.AddWithValue("$sha256", recording.Sha256);
        command.Parameters.AddWithValue("$pages", recording.Pages);
        command.Parameters.AddWithValue("$regions", recording.Regions);
        command.Parameters.AddWithValue("$file_bytes", recording.FileBytes);
        command.Parameters.AddWithValue("$recorded_at", Format(recording.RecordedAt));
        command.ExecuteNonQuery();
    }

    public static string Sha256Of(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file));
    }

    private const string SelectFunctions =
        "SELECT name, kind, elf_path, elf_sha256, memory_mib, description, is_test, registered_at FROM functions";

    private static List<RegisteredFunction> ReadFunctions(SqliteConnection connection, SqliteCommand command)
    {
        var functions = new List<RegisteredFunction>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                functions.Add(new RegisteredFunction
                {
                    Name = reader.GetString(0),
                    Kind = reader.GetString(1) == User ? FunctionKind.User : FunctionKind.BuiltIn,
                    ElfPath = reader.GetString(2),
                    ElfSha256 = reader.GetString(3),
                    MemoryMib = reader.GetInt32(4),
                    Description = reader.GetString(5),
                    IsTestGuest = reader.GetBoolean(6),
                    RegisteredAt = Parse(reader.GetString(7)),
                });
            }
        }
        var snapshots = ReadSnapshots(connection);
        var recordings = ReadRecordings(connection);
        return functions.Select(f => f with
        {
            Snapshot = snapshots.GetValueOrDefault(f.Name),
            Recordings = recordings.TryGetValue(f.Name, out var list) ? list : [],
        }).ToList();
    }

    private static Dictionary<string, SnapshotRecord> ReadSnapshots(SqliteConnection connection)
    {
        using var command = Command(connection, null, """
            SELECT function, snapshot_id, elf_sha256, state_sha256, memory_file, memory_mib, allocated_bytes, data_pages, taken_at
            FROM snapshots
            """);
        using var reader = command.ExecuteReader();
        var result = new Dictionary<string, SnapshotRecord>(StringComparer.Ordinal);
        while (reader.Read())
        {
            result[reader.GetString(0)] = new SnapshotRecord
            {
                SnapshotId = Guid.Parse(reader.GetString(1)),
                ElfSha256 = reader.GetString(2),
                StateSha256 = reader.GetString(3),
                MemoryFile = reader.GetString(4),
                MemoryMib = reader.GetInt32(5),
                AllocatedBytes = reader.GetInt64(6),
                DataPages = reader.GetInt64(7),
                TakenAt = Parse(reader.GetString(8)),
            };
        }
        return result;
    }

    private static Dictionary<string, List<RecordingRecord>> ReadRecordings(SqliteConnection connection)
    {
        using var command = Command(connection, null, """
            SELECT function, mode, snapshot_id, path, sha256, pages, regions, file_bytes, recorded_at FROM recordings ORDER BY function, mode
            """);
        using var reader = command.ExecuteReader();
        var result = new Dictionary<string, List<RecordingRecord>>(StringComparer.Ordinal);
        while (reader.Read())
        {
            var name = reader.GetString(0);
            if (!result.TryGetValue(name, out var list))
                result[name] = list = [];
            list.Add(new RecordingRecord
            {
                Mode = reader.GetString(1),
                SnapshotId = Guid.Parse(reader.GetString(2)),
                Path = reader.GetString(3),
                Sha256 = reader.GetString(4),
                Pages = reader.GetInt64(5),
                Regions = reader.GetInt32(6),
                FileBytes = reader.GetInt64(7),
                RecordedAt = Parse(reader.GetString(8)),
            });
        }
        return result;
    }

    private static string? KindOf(SqliteConnection connection, SqliteTransaction transaction, string name)
    {
        using var command = Command(connection, transaction, "SELECT kind FROM functions WHERE name = $name");
        command.Parameters.AddWithValue("$name", name);
        return command.ExecuteScalar() as string;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static string Now() => Format(DateTimeOffset.UtcNow);

    public static string Format(DateTimeOffset time) => time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    public static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
