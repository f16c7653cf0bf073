using CareGateway.ResponseCentre.Service.Web;
using CareGateway.Tests;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>The operators' password policy (issue 19 finding 14) and add-user applying it.</summary>
public sealed class PasswordPolicyTests : IDisposable
{
    private readonly TempDir _dir = new();

    [Theory]
    [InlineData("kari", "short", "at least 10 characters")]
    [InlineData("kari", "aaaaaaaaaa", "one character repeated")]
    [InlineData("kari", "abababababab", "short pattern")]
    [InlineData("kari", "password123", "most common passwords")]
    [InlineData("kari", "Passord123", "most common passwords")]
    [InlineData("kari", "sommer2024", "most common passwords")]
    [InlineData("kari", "hemmelig2031!", "digits or signs added")]
    [InlineData("kari", "kari-password", "user name")]
    [InlineData("Kari", "KARI.nordmann.1", "user name")]
    [InlineData("kari", "1234567890", "run along the keyboard")]
    [InlineData("kari", "0987654321", "run along the keyboard")]
    [InlineData("kari", "qwertyuiop", "run along the keyboard")]
    [InlineData("kari", "abcdefghijkl", "run along the keyboard")]
    public void A_weak_password_is_refused_with_the_rule_it_breaks(string user, string password, string rule)
    {
        var problem = PasswordPolicy.Problem(user, password);

        Assert.NotNull(problem);
        Assert.Contains(rule, problem, StringComparison.Ordinal);
        Assert.DoesNotContain(password, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kari", "correct horse battery")]
    [InlineData("admin", "correct horse battery")]
    [InlineData("kari", "a long passphrase")]
    [InlineData("ab", "absolutely fine words")] // a two-letter name is not looked for
    [InlineData("kari", "blåbærsyltetøy på vaffel")]
    public void Several_unrelated_words_pass(string user, string password) =>
        Assert.Null(PasswordPolicy.Problem(user, password));

    [Fact]
    public void The_embedded_list_holds_a_few_hundred_passwords_english_and_norwegian()
    {
        Assert.InRange(PasswordPolicy.CommonCount, 300, 5000);
        Assert.NotNull(PasswordPolicy.Problem("kari", "passord123"));
        Assert.NotNull(PasswordPolicy.Problem("kari", "Vinter2026"));
    }

    [Fact]
    public async Task Add_user_says_which_rule_failed_exits_2_and_saves_nothing()
    {
        var db = _dir.File("policy.db");
        using var output = new StringWriter();
        using var errors = new StringWriter();

        var code = await UserCommand.RunAsync(["kari", $"--Centre:Database:ConnectionString={db}"], new StringReader("kari-password\n"), output, errors);

        Assert.Equal(2, code);
        Assert.Contains("must not contain the user name", errors.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("kari-password", errors.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("System.", errors.ToString(), StringComparison.Ordinal);
        Assert.False(await UserExistsAsync(db, "kari"));
    }

    private static async Task<bool> UserExistsAsync(string db, string name)
    {
        var store = Service.Storage.SqliteCentreStore.ForFile(db);
        await store.MigrateAsync(default);
        return await store.FindUserAsync(name, default) is not null;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
