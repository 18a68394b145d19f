using Microsoft.Data.Sqlite;

namespace Snapfn.Platform.Tests;

/// <summary>
/// The registry's two upgrade mechanisms together: schema version 2 (function logs: new tables, an invocation id) by
/// number, and columns added where missing (<c>_addedColumns</c>: code_stamp, keep_state, max_instances) whatever the
/// version. A registry left by either branch before they met — version 1 with the added columns, or version 2
/// without them — opens with everything present.
/// </summary>
public sealed class RegistryMigrationTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-registry-");

    private SnapfnHome Home => new(_dir.FullName);

    private static void Execute(RegistryDatabase database, string sql)
    {
        using var connection = database.OpenDurable();
        RegistryDatabase.Execute(connection, sql);
    }

    private static bool Has(RegistryDatabase database, string sql)
    {
        using var connection = database.OpenDurable();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar() is not null;
    }

    private static bool HasColumn(RegistryDatabase database, string table, string column) =>
        Has(database, $"SELECT 1 FROM pragma_table_info('{table}') WHERE name = '{column}'");

    private static bool HasTable(RegistryDatabase database, string table) =>
        Has(database, $"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{table}'");

    private static long Version(RegistryDatabase database)
    {
        using var connection = database.OpenDurable();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        return (long)command.ExecuteScalar()!;
    }

    private static void AssertComplete(RegistryDatabase database)
    {
        Assert.Equal(2, Version(database));
        Assert.True(HasTable(database, "function_logs"));
        Assert.True(HasTable(database, "function_log_usage"));
        Assert.True(HasColumn(database, "invocations", "invocation_id"));
        foreach (var column in new[] { "code_stamp", "keep_state", "max_instances" })
            Assert.True(HasColumn(database, "functions", column), column);
    }

    [Fact]
    public void A_new_registry_has_the_function_logs_and_the_added_columns()
    {
        AssertComplete(RegistryDatabase.Open(Home));
    }

    [Fact]
    public void A_version_1_registry_with_the_added_columns_gets_the_function_logs()
    {
        var database = RegistryDatabase.Open(Home);
        Execute(database, """
            DROP TABLE function_logs;
            DROP TABLE function_log_usage;
            DROP INDEX invocations_by_invocation_id;
            ALTER TABLE invocations DROP COLUMN invocation_id;
            PRAGMA user_version = 1;
            """);
        Assert.False(HasTable(database, "function_logs"));
        SqliteConnection.ClearAllPools();
        AssertComplete(RegistryDatabase.Open(Home));
    }

    [Fact]
    public void A_version_2_registry_without_the_added_columns_gets_them()
    {
        var database = RegistryDatabase.Open(Home);
        Execute(database, """
            ALTER TABLE functions DROP COLUMN code_stamp;
            ALTER TABLE functions DROP COLUMN keep_state;
            ALTER TABLE functions DROP COLUMN max_instances;
            """);
        Assert.False(HasColumn(database, "functions", "keep_state"));
        SqliteConnection.ClearAllPools();
        AssertComplete(RegistryDatabase.Open(Home));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }
}
