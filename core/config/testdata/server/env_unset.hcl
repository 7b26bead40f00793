database {
  url = env("RISE_TEST_UNSET")
}
