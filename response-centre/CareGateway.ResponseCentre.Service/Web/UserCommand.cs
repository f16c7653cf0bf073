using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.AspNetCore.Identity;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary><c>response-centre add-user NAME [--role operator|admin]</c>: the password is read from stdin, never from the command line.</summary>
public static class UserCommand
{
    public const int MinPasswordLength = PasswordPolicy.MinLength;

    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var name = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal));
        var roleIndex = Array.IndexOf(args, "--role");
        var role = roleIndex >= 0 && roleIndex + 1 < args.Length ? args[roleIndex + 1] : Roles.Operator;
        if (!string.IsNullOrWhiteSpace(name) && !Roles.IsValid(role))
        {
            await stderr.WriteLineAsync($"add-user: there is no role '{role}'; the roles are {Roles.Operator} and {Roles.Admin}");
            return 2;
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            await stderr.WriteLineAsync("usage: response-centre add-user NAME [--role operator|admin]   (password on stdin)");
            return 2;
        }

        var password = (await stdin.ReadLineAsync())?.TrimEnd('\r') ?? "";
        if (PasswordPolicy.Problem(name, password) is { } problem)
        {
            await stderr.WriteLineAsync($"add-user: {problem} (the password is read from stdin); nothing was saved");
            return 2;
        }

        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args.Where(a => a != name).ToArray())
            .Build();
        var settings = config.GetSection("Centre").Get<CentreSettings>() ?? new CentreSettings();
        var store = CentreApp.CreateStore(settings.Database);
        try
        {
            await store.MigrateAsync(CancellationToken.None);
            var user = await CreateUserAsync(store, name, role, password, CancellationToken.None);
            await stdout.WriteLineAsync($"add-user: {user.UserName} ({user.Role}) saved; acknowledgements carry the id {user.OperatorId}");
            return 0;
        }
        finally
        {
            if (store is IAsyncDisposable d)
            {
                await d.DisposeAsync();
            }
        }
    }

    /// <summary>Adds a user (or sets a new password and role), keeping an existing operator id.</summary>
    /// <param name="hasher">The service's hasher (<see cref="PasswordHashing.NewHasher"/> when null).</param>
    public static async Task<CentreUser> CreateUserAsync(ICentreStore store, string name, string role, string password, CancellationToken ct,
        IPasswordHasher<CentreUser>? hasher = null)
    {
        var existing = await store.FindUserAsync(name, ct);
        var user = new CentreUser
        {
            UserName = name,
            OperatorId = existing?.OperatorId ?? $"operator-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}",
            Role = role,
            PasswordHash = "",
            SecurityStamp = CentreUser.NewStamp(),
            TotpSecret = existing?.TotpSecret,
            TotpLastStep = existing?.TotpLastStep ?? 0,
        };
        user = user with { PasswordHash = (hasher ?? PasswordHashing.NewHasher()).HashPassword(user, password) };
        await store.SaveUserAsync(user, ct);
        return user;
    }
}
