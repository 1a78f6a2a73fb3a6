/**
 * Passwords of 8 or more characters that lead the published breach
 * frequency lists (NCSC's top 100,000 from Have I Been Pwned, RockYou,
 * SecLists' most-common). Shorter ones are refused by length anyway. Kept
 * in the source: the check works offline and costs a Set lookup.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  `
12345678 123456789 1234567890 12345678910 0123456789 01234567 87654321 987654321 9876543210
11111111 00000000 22222222 33333333 44444444 55555555 66666666 77777777 88888888 99999999
12341234 11223344 12344321 12121212 12312312 123123123 1234512345 112233445566 123654789
147258369 159753456 159357456 741852963 789456123 963852741 123456789a 12345678a 1234567a
password password1 password12 password123 password1234 password12345 password! password1!
passw0rd p@ssw0rd p@ssword pa55word pa55w0rd passwort motdepasse contraseña senha123
qwertyui qwertyuiop qwerty12 qwerty123 qwerty1234 qwertz123 azertyuiop azerty123 1qaz2wsx
1qaz2wsx3edc zaq12wsx zaq1zaq1 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y q1w2e3r4 q1w2e3r4t5 qweasdzxc
123qweasd qweasd123 12qwaszx 1qazxsw2 qazwsxedc asdfghjk asdfghjkl asdf1234 zxcvbnm1 zxcvbnm123
1234qwer qwer1234 abcd1234 abc12345 abc123456 a1b2c3d4 aa123456 a12345678 abcdefgh abcdefg1
iloveyou iloveyou1 iloveyou2 iloveu123 sunshine sunshine1 princess princess1 football football1
baseball basketball superman superman1 batman123 starwars trustno1 whatever whatever1 welcome1
welcome123 letmein1 letmein123 admin123 admin1234 administrator changeme changeme1 changeme123
computer internet michelle jennifer jordan23 charlie1 master123 dragon123 monkey123 shadow123
liverpool chelsea1 arsenal1 manchester samsung1 google123 secret123 test1234 testtest test12345
lovely123 mustang1 michael1 jessica1 soccer12 hello123 freedom1 thomas123 ashley123 nicole123
daniel123 maggie123 jasmine1 chocolate butterfly fuckyou1 fuckyou123 pokemon1 minecraft
minecraft1 naruto123 cheese123 purple123 flower123 cookie123 killer123 mother123 family123
asdasdasd qweqweqwe zxczxczxc 123qwe123 1234abcd abcd12345 qwerty1! p@ssw0rd1 passw0rd1
summer2023 summer2024 summer2025 winter2023 winter2024 winter2025 spring2024 autumn2024
january1 december1 everton1 newcastle tottenham baseball1 football12 princess12 sunshine12
blink182 linkinpark metallica slipknot rockyou1 987654321a 123456qwerty qwerty123456
`
    .split(/\s+/)
    .filter(Boolean),
);
