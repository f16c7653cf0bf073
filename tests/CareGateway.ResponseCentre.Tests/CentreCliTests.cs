using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.ResponseCentre.Service.Web;
using CareGateway.Tests;
using Microsoft.AspNetCore.Identity;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>The centre's command line speaks to people: help without starting, an unknown role named.</summary>
public sealed class CentreCliTests : IDisposable
{
    private readonly TempDir _dir = new();

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public void Help_is_recognised_so_the_service_is_not_started(string arg)
    {
        Assert.True(CentreHelp.IsHelp([arg]));
        Assert.Contains("add-user", CentreHelp.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Running_the_service_and_add_user_are_not_help()
    {
        Assert.False(CentreHelp.IsHelp([]));
        Assert.False(CentreHelp.IsHelp(["add-user", "kari"]));
        Assert.False(CentreHelp.IsHelp(["--Centre:Console:Url=http://127.0.0.1:5080"]));
    }

    [Fact]
    public async Task An_unknown_role_is_named_and_exits_2_before_a_password_is_read()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await UserCommand.RunAsync(["kari", "--role", "superuser"], new StringReader("a-long-password\n"), stdout, stderr);

        Assert.Equal(2, code);
        Assert.Contains("'superuser'", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("operator", stderr.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("System.", stderr.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_lists_the_commands_and_exits_0_without_starting_the_service(string arg)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var (code, serviceArgs) = await CentreHelp.DispatchAsync([arg], new StringReader(""), stdout, stderr);

        Assert.Equal(0, code);
        Assert.Empty(serviceArgs);
        foreach (var command in new[] { "run", "add-user", "--reset-password", "enrol-totp", "--remove", "--help" })
        {
            Assert.Contains(command, stdout.ToString(), StringComparison.Ordinal);
        }

        Assert.Equal("", stderr.ToString());
    }

    [Fact]
    public async Task Run_settings_and_nothing_start_the_service_and_a_mistyped_command_exits_2()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var run = await DispatchAsync("run", "--Urls=http://127.0.0.1:5081");
        Assert.Null(run.Code);
        Assert.Equal(["--Urls=http://127.0.0.1:5081"], run.Args);
        var settings = await DispatchAsync("--Centre:Mqtt:Host", "broker");
        Assert.Null(settings.Code);
        Assert.Equal(["--Centre:Mqtt:Host", "broker"], settings.Args);
        Assert.Null((await DispatchAsync()).Code);

        var (code, _) = await CentreHelp.DispatchAsync(["ad-user", "kari"], new StringReader(""), stdout, stderr);
        Assert.Equal(2, code);
        Assert.Contains("'ad-user' is not a command", stderr.ToString(), StringComparison.Ordinal);

        static async Task<(int? Code, string[] Args)> DispatchAsync(params string[] args)
        {
            var (code, serviceArgs) = await CentreHelp.DispatchAsync(args, new StringReader(""), TextWriter.Null, TextWriter.Null);
            return (code, serviceArgs);
        }
    }

    [Fact]
    public async Task Add_user_refuses_an_existing_user_unless_reset_password_which_replaces_the_password_and_the_stamp()
    {
        var db = $"--Centre:Database:ConnectionString={_dir.File("users.db")}";
        const string first = "correct horse battery", second = "staple on the table";
        Assert.Equal(0, await AddUserAsync(["kari", db], first));
        var store = SqliteCentreStore.ForFile(_dir.File("users.db"));
        var before = (await store.FindUserAsync("kari", default))!;

        // Again without --reset-password: refused before the password is read; nothing changes.
        var stdin = new StringReader(second + "\n");
        var (code, _, errors) = await AddUserAsync(["kari", db], stdin);
        Assert.Equal(2, code);
        Assert.Contains("already a user 'kari'", errors, StringComparison.Ordinal);
        Assert.Contains("--reset-password", errors, StringComparison.Ordinal);
        Assert.Equal(second, await stdin.ReadLineAsync()); // not read
        Assert.Equal(before, await store.FindUserAsync("kari", default));

        // With it: a new password, a new stamp (her sessions end), the same operator id, the role kept.
        Assert.Equal(0, await AddUserAsync(["kari", "--reset-password", db], second));
        var after = (await store.FindUserAsync("kari", default))!;
        Assert.Equal((before.OperatorId, Roles.Operator), (after.OperatorId, after.Role));
        Assert.NotEqual(before.SecurityStamp, after.SecurityStamp);
        Assert.Equal(PasswordVerificationResult.Failed, PasswordHashing.NewHasher().VerifyHashedPassword(after, after.PasswordHash, first));
        Assert.Equal(PasswordVerificationResult.Success, PasswordHashing.NewHasher().VerifyHashedPassword(after, after.PasswordHash, second));

        // The role too, when given.
        Assert.Equal(0, await AddUserAsync(["kari", "--reset-password", "--role", "admin", db], first));
        Assert.Equal(Roles.Admin, (await store.FindUserAsync("kari", default))!.Role);
    }

    [Fact]
    public async Task Reset_password_of_an_unknown_user_or_an_unknown_option_exits_2_with_a_sentence()
    {
        var db = $"--Centre:Database:ConnectionString={_dir.File("users.db")}";
        var (code, _, errors) = await AddUserAsync(["nobody", "--reset-password", db], new StringReader("correct horse battery\n"));
        Assert.Equal(2, code);
        Assert.Contains("no user 'nobody'", errors, StringComparison.Ordinal);

        (code, _, errors) = await AddUserAsync(["kari", "--reset", db], new StringReader("correct horse battery\n"));
        Assert.Equal(2, code);
        Assert.Contains("'--reset' is not one of this command's options", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enrol_totp_prints_the_address_and_secret_once_stores_it_and_remove_clears_it()
    {
        var db = $"--Centre:Database:ConnectionString={_dir.File("totp.db")}";
        Assert.Equal(0, await AddUserAsync(["kari", db], "correct horse battery"));
        var store = SqliteCentreStore.ForFile(_dir.File("totp.db"));
        var stamp = (await store.FindUserAsync("kari", default))!.SecurityStamp;

        using (var stdout = new StringWriter())
        using (var stderr = new StringWriter())
        {
            var (code, _) = await CentreHelp.DispatchAsync(["enrol-totp", "kari", db], new StringReader(""), stdout, stderr);
            Assert.Equal(0, code);
            var kari = (await store.FindUserAsync("kari", default))!;
            Assert.NotNull(kari.TotpSecret);
            Assert.Equal(32, kari.TotpSecret.Length); // 20 bytes in Base32
            Assert.Equal(stamp, kari.SecurityStamp);
            var printed = stdout.ToString();
            Assert.Contains($"otpauth://totp/Care%20response%20centre:kari?secret={kari.TotpSecret}&issuer=Care%20response%20centre", printed, StringComparison.Ordinal);
            Assert.Contains($"(Base32, for typing in): {kari.TotpSecret}", printed, StringComparison.Ordinal);
        }

        using (var stdout = new StringWriter())
        {
            Assert.Equal(0, await TotpCommand.RunAsync(["kari", "--remove", db], stdout, TextWriter.Null));
            Assert.Null((await store.FindUserAsync("kari", default))!.TotpSecret);
            Assert.DoesNotContain("otpauth", stdout.ToString(), StringComparison.Ordinal);
        }

        using (var stderr = new StringWriter())
        {
            Assert.Equal(2, await TotpCommand.RunAsync(["nobody", db], TextWriter.Null, stderr));
            Assert.Contains("no user 'nobody'", stderr.ToString(), StringComparison.Ordinal);
        }

        Assert.Equal(2, await TotpCommand.RunAsync([], TextWriter.Null, TextWriter.Null));
    }

    private static async Task<int> AddUserAsync(string[] args, string password) => (await AddUserAsync(args, new StringReader(password + "\n"))).Code;

    private static async Task<(int Code, string Output, string Errors)> AddUserAsync(string[] args, TextReader stdin)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await UserCommand.RunAsync(args, stdin, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
