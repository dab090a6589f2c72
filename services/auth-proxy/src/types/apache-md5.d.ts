// apache-md5 ships no types. It exports one function: (password, salt?) => "$apr1$salt$hash".
declare module 'apache-md5' {
  function md5 (password: string, salt?: string): string
  export default md5
}
