from erplake.cli import main

main()
